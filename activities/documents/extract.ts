/**
 * Text out of a document, by content type: plain text and markdown as they are, HTML's
 * main content (readability over linkedom, not its navigation), PDF page by page (unpdf).
 * A document with nothing to read fails for good with a sentence a user can act on.
 */
import { getDocumentProxy } from 'unpdf';
import { failure } from '../errors.js';
import { extractHtml, normalise } from './html.js';

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

const unreadable = (reason: string, cause?: unknown) => failure('DocumentUnreadable', reason, cause);

/** Text with no letter or digit in it (whitespace, an image-only PDF's empty pages) reads as nothing. */
function requireText(extracted: Extracted): Extracted {
  if (!/[\p{L}\p{N}]/u.test(extracted.text)) throw unreadable(NO_TEXT);
  return extracted;
}

export async function extractDocument(
  contentType: string,
  raw: { text?: string | null; bytes?: Buffer | null },
  onPage: (page: number) => void = () => {},
): Promise<Extracted> {
  if (contentType === 'application/pdf') {
    if (!raw.bytes) throw unreadable(UNREADABLE_PDF);
    return requireText(await extractPdf(raw.bytes, onPage));
  }
  const text = raw.text ?? '';
  if (contentType === 'text/html') return requireText({ text: extractHtml(text).text, pages: null });
  if (contentType === 'text/plain' || contentType === 'text/markdown') return requireText({ text: normalise(text), pages: null });
  throw failure('ValidationError', `documents of type ${contentType} cannot be read`);
}

interface TextItem {
  str?: string;
  hasEOL?: boolean;
}

/** Page by page, so a long PDF reports each page as it goes. */
export async function extractPdf(bytes: Buffer, onPage: (page: number) => void = () => {}): Promise<Extracted> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // A copy: pdf.js takes ownership of (and may detach) the buffer it is given.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false });
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name;
    throw unreadable(name === 'PasswordException' ? ENCRYPTED_PDF : UNREADABLE_PDF, err);
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
    return { text: normalise(pages.map(normalise).filter(Boolean).join('\n\n')), pages: pdf.numPages };
  } catch (err) {
    if ((err as { type?: unknown }).type === 'DocumentUnreadable') throw err;
    throw unreadable(UNREADABLE_PDF, err);
  } finally {
    await pdf.destroy();
  }
}
