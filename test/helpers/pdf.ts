/** Test PDFs made with pdf-lib: text pages, an image-only page, a broken file, an encrypted one. */
import { PDFDocument, PDFHexString, StandardFonts } from 'pdf-lib';

/** A 1x1 PNG, so the image-only PDF holds an image and no text. */
const PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/** One page per entry; long lines are wrapped so every word is drawn. */
export async function textPdf(pages: string[]): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const text of pages) {
    const page = doc.addPage();
    const lines = text.match(/.{1,80}(\s|$)/g) ?? [text];
    lines.forEach((line, i) => page.drawText(line.trim(), { x: 40, y: 760 - i * 14, font, size: 10 }));
  }
  return Buffer.from(await doc.save());
}

export async function imageOnlyPdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const image = await doc.embedPng(PIXEL_PNG);
  doc.addPage().drawImage(image, { x: 40, y: 400, width: 200, height: 200 });
  return Buffer.from(await doc.save());
}

/** Starts like a PDF, then is not one. */
export function brokenPdf(): Buffer {
  return Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a cross-reference table\n%%EOF\n');
}

/**
 * A PDF whose trailer names a Standard security handler with a user password: readers ask
 * for the password before reading a page (the O and U entries match no password at all).
 */
export async function encryptedPdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage().drawText('secret text', { x: 40, y: 700, font, size: 12 });
  const ctx = doc.context;
  const encrypt = ctx.obj({ Filter: 'Standard', V: 1, R: 2, Length: 40, P: -44, O: PDFHexString.of('11'.repeat(32)), U: PDFHexString.of('22'.repeat(32)) });
  ctx.trailerInfo.Encrypt = ctx.register(encrypt);
  ctx.trailerInfo.ID = ctx.obj([PDFHexString.of('ab'.repeat(16)), PDFHexString.of('ab'.repeat(16))]);
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}
