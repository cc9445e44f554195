/**
 * The `extract` scenario's hostile inputs (issue 16), each at any size, and how each is read:
 * through a version of the readers (today's, or those of the commit before the one extractor,
 * which extract-before.ts loads in a thread).
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';

export type Reader = 'text/plain' | 'text/markdown' | 'text/html' | 'application/pdf' | 'page' | 'chunks';

export interface Shape {
  name: string;
  reader: Reader;
  /** The input of about `bytes` characters (a PDF: the length of its one text run). */
  make(bytes: number): Promise<string | Uint8Array>;
}

/** The readers of one version of the code, as its modules export them. */
export interface Readers {
  extractDocument(contentType: string, raw: { text?: string; bytes?: Uint8Array | Buffer }): Promise<unknown>;
  extractPage(html: string, url: string): unknown;
  chunkText(text: string, sizes: { chunkTokens: number; overlapTokens: number }): unknown;
}

const repeat = (unit: string, bytes: number) => unit.repeat(Math.max(1, Math.floor(bytes / unit.length)));
const text = (f: (bytes: number) => string) => async (bytes: number) => f(bytes);

async function spacesPdf(bytes: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage().drawText(`a${' '.repeat(bytes)}a`, { x: 40, y: 700, font, size: 10 });
  return doc.save();
}

export const SHAPES: Shape[] = [
  { name: 'runs of spaces and tabs, text/plain', reader: 'text/plain', make: text((n) => `a${repeat(' \t', n)}b`) },
  { name: 'runs of spaces and tabs, text/markdown', reader: 'text/markdown', make: text((n) => `# Notes\n\n${repeat(' \t', n)}b`) },
  { name: 'runs of spaces and tabs, text/html', reader: 'text/html', make: text((n) => `<p>a${repeat(' \t', n)}b</p>`) },
  { name: '`<a` repeated, text/html', reader: 'text/html', make: text((n) => `<p>x</p>${repeat('<a', n)}`) },
  { name: '`<a ` repeated (attributes), text/html', reader: 'text/html', make: text((n) => `<p>x</p>${repeat('<a ', n)}`) },
  { name: 'unclosed `<script>`, text/html', reader: 'text/html', make: text((n) => `<p>x</p><script>${repeat('a<b ', n)}`) },
  { name: 'deep nesting, text/html', reader: 'text/html', make: text((n) => `${repeat('<div>', n / 2)}x${repeat('</div>', n / 2)}`) },
  { name: '`<br>` repeated, fetched page', reader: 'page', make: text((n) => `a${repeat('<br>', n)}b`) },
  { name: 'one run of spaces, application/pdf', reader: 'application/pdf', make: spacesPdf },
  { name: 'a run of spaces, chunked', reader: 'chunks', make: text((n) => `start ${' '.repeat(n)} end.`) },
  { name: 'one long word, chunked', reader: 'chunks', make: text((n) => `start ${'x'.repeat(n)} end.`) },
];

/** A refusal (no extractable text) is an answer too; anything else is not. */
function refusalIsAnAnswer(err: unknown): void {
  if ((err as { type?: unknown } | null)?.type !== 'DocumentUnreadable') throw err;
}

/** Reads the input as the shape says. */
export async function read(readers: Readers, shape: Shape, input: string | Uint8Array): Promise<void> {
  const asText = typeof input === 'string' ? input : '';
  switch (shape.reader) {
    case 'page':
      readers.extractPage(asText, 'http://bench.test/page');
      return;
    case 'chunks':
      readers.chunkText(asText, { chunkTokens: 512, overlapTokens: 64 });
      return;
    case 'application/pdf':
      await readers.extractDocument(shape.reader, { bytes: input as Uint8Array }).catch(refusalIsAnAnswer);
      return;
    default:
      await readers.extractDocument(shape.reader, { text: asText }).catch(refusalIsAnAnswer);
  }
}
