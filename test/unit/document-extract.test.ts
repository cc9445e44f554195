/**
 * Extraction by content type (no services), as the extraction activity runs it (through the
 * parse pool: a PDF in a thread): HTML's article without its navigation, PDFs page by page,
 * and the unreadable ones.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_PDF, NO_TEXT, UNREADABLE_PDF } from '../../activities/documents/extract.js';
import { extractHtml } from '../../activities/parse/html.js';
import { createParsePool } from '../../activities/parse/pool.js';
import { ARTICLE_HTML } from '../fixtures/documents.js';
import { brokenPdf, encryptedPdf, imageOnlyPdf, textPdf } from '../helpers/pdf.js';

const pool = createParsePool({ threads: 1, deadlineMs: 30_000 });
afterAll(() => pool.close());

const extractDocument = (contentType: string, raw: { text?: string; bytes?: Buffer }, onProgress?: (page: number) => void) =>
  pool.run({ kind: 'document', contentType, ...raw }, { onProgress });

async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('extractDocument', () => {
  it('keeps plain text and markdown as they are, with line ends normalised', async () => {
    expect(await extractDocument('text/plain', { text: 'one\r\ntwo  \n' })).toEqual({ text: 'one\ntwo', pages: null });
    const md = '# Title\n\n- a point\n- another\n\n```\ncode\n```';
    expect((await extractDocument('text/markdown', { text: md })).text).toBe(md);
  });

  it('reads the main content of a page, not its navigation, header, footer or scripts', () => {
    const { title, text } = extractHtml(ARTICLE_HTML);
    expect(title).toBe('Choosing ovens');
    expect(text).toContain('Deck ovens are the subject');
    expect(text).toContain('Rotating rack ovens');
    for (const furniture of ['Quokka', 'wombat', 'narwhal', 'ocelot', 'Bakers Weekly']) expect(text).not.toContain(furniture);
    // Paragraphs stay apart: one does not run into the next.
    expect(text).toMatch(/plans ahead and buys well\.\n\nConvection ovens/);
  });

  it('reads a short page readability would not call an article, still without its navigation', () => {
    const { text } = extractHtml('<html><body><nav>Menu quokka</nav><p>Just one line about ovens.</p></body></html>');
    expect(text).toBe('Just one line about ovens.');
  });

  it('reads 100,000 nested elements in well under 2 s (readability is skipped past its limits)', () => {
    const depth = 100_000;
    const html = `<html><body><nav>menu</nav>${'<div>'.repeat(depth)}deep ovens${'</div>'.repeat(depth)}</body></html>`;
    const started = performance.now();
    expect(extractHtml(html).text).toBe('deep ovens');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('reads a PDF page by page', async () => {
    const seen: number[] = [];
    const pdf = await textPdf(['Page one is about sourdough.', 'Page two is about zeppelins.']);
    const extracted = await extractDocument('application/pdf', { bytes: pdf }, (page) => seen.push(page));
    expect(extracted.pages).toBe(2);
    expect(extracted.text).toBe('Page one is about sourdough.\n\nPage two is about zeppelins.');
    expect(seen).toEqual([1, 2]);
  });

  it('fails for good, with a readable reason, on PDFs with nothing to read and on blank text', async () => {
    const cases: [string, () => Promise<unknown>][] = [
      [NO_TEXT, async () => extractDocument('application/pdf', { bytes: await imageOnlyPdf() })],
      [UNREADABLE_PDF, () => extractDocument('application/pdf', { bytes: brokenPdf() })],
      [ENCRYPTED_PDF, async () => extractDocument('application/pdf', { bytes: await encryptedPdf() })],
      [NO_TEXT, () => extractDocument('text/plain', { text: ' \n\t ' })],
      [NO_TEXT, () => extractDocument('text/html', { text: '<html><body><nav>only a menu</nav></body></html>' })],
    ];
    for (const [reason, attempt] of cases) {
      const failure = await rejection(attempt());
      expect({ message: failure.message, type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({
        message: reason, type: 'DocumentUnreadable', nonRetryable: true,
      });
    }
  });
});
