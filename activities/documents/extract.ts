/**
 * Text out of a document, by content type: plain text and markdown as they are (line ends
 * normalised), HTML's main content (the one extractor, ../parse/html.ts), PDF page by page
 * (unpdf). A document with nothing to read is refused with a sentence a user can act on.
 * Pure and CPU-bound: the activities run it through the parse pool (../parse/pool.ts), which
 * may run it in a thread, so it throws `ParseRefusal`s, not Temporal failures.
 */
import { getDocumentProxy } from 'unpdf';
import { extractHtml } from '../parse/html.js';
import { ParseRefusal } from '../parse/refusal.js';
import { hasReadableText, normaliseLines } from '../parse/text.js';

export const READABLE_TYPES = ['text/plain', 'text/markdown', 'text/html', 'application/pdf'] as const;
export type ReadableType = (typeof READABLE_TYPES)[number];

export const isReadableType = (type: string): type is ReadableType => (READABLE_TYPES as readonly string[]).includes(type);

export const NO_TEXT = 'no extractable text';
export const ENCRYPTED_PDF = 'the PDF is encrypted';
export const UNREADABLE_PDF = 'the PDF could not be read';

export interface Extracted {
  text: string;
  /** Pages of a PDF; null for the text types. */
  pages: number | null;
}

const unreadable = (reason: string) => new ParseRefusal('DocumentUnreadable', reason);

function requireText(extracted: Extracted): Extracted {
  if (!hasReadableText(extracted.text)) throw unreadable(NO_TEXT);
  return extracted;
}

export async function extractDocument(
  contentType: string,
  raw: { text?: string | null; bytes?: Uint8Array | null },
  onPage: (page: number) => void = () => {},
): Promise<Extracted> {
  if (contentType === 'application/pdf') {
    if (!raw.bytes) throw unreadable(UNREADABLE_PDF);
    return requireText(await extractPdf(raw.bytes, onPage));
  }
  const text = raw.text ?? '';
  if (contentType === 'text/html') return requireText({ text: extractHtml(text).text, pages: null });
  if (contentType === 'text/plain' || contentType === 'text/markdown') return requireText({ text: normaliseLines(text), pages: null });
  throw new ParseRefusal('ValidationError', `documents of type ${contentType} cannot be read`);
}

interface TextItem {
  str?: string;
  hasEOL?: boolean;
}

/** Page by page, so a long PDF reports each page as it goes. */
export async function extractPdf(bytes: Uint8Array, onPage: (page: number) => void = () => {}): Promise<Extracted> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // A copy: pdf.js takes ownership of (and may detach) the buffer it is given.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false });
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name;
    throw unreadable(name === 'PasswordException' ? ENCRYPTED_PDF : UNREADABLE_PDF);
  }
  try {
    const pages: string[] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      pages.push((content.items as TextItem[]).map((i) => `${i.str ?? ''}${i.hasEOL ? '\n' : ''}`).join(''));
      page.cleanup();
      onPage(n);
    }
    return { text: pages.map(normaliseLines).filter(Boolean).join('\n\n'), pages: pdf.numPages };
  } catch {
    throw unreadable(UNREADABLE_PDF);
  } finally {
    await pdf.destroy();
  }
}
