/**
 * Issue 16, "a worker's event loop is never held by input": every reader of user text over
 * megabyte-sized hostile inputs (long runs of spaces and tabs, `<a` repeated, an unclosed
 * `<script>`, deep nesting, thousands of `<br>`, a PDF whose text is one run of spaces)
 * finishes, with the text a reader expects. The regexes these replaced took seconds on 80 KB
 * and four times that on twice the size: at 1 MiB they would run for many minutes, past this
 * file's time limit. How the cost grows with size is measured by `npm run bench -- extract`,
 * not timed here. Also: NUL and lone surrogates never reach the text that is stored.
 */
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../activities/documents/chunk.js';
import { extractDocument } from '../../activities/documents/extract.js';
import { estimateTokens } from '../../activities/llm/metering.js';
import { extractPage } from '../../activities/web/index.js';
import { textPdf } from '../helpers/pdf.js';

const MIB = 1024 * 1024;
const spaces = ' '.repeat(MIB);
const spacesAndTabs = ' \t'.repeat(MIB / 2);

const text = async (contentType: string, raw: string) => (await extractDocument(contentType, { text: raw })).text;
const page = (html: string) => extractPage(html, 'http://example.test/hostile');

describe('hostile text, 1 MiB of each shape', () => {
  it('long runs of spaces and tabs: plain text, markdown, HTML, a fetched page', async () => {
    for (const run of [spaces, spacesAndTabs]) {
      expect(await text('text/plain', `a${run}b`)).toBe(`a${run}b`);
      expect(await text('text/plain', `a${run}\nb${run}`)).toBe('a\nb');
      expect(await text('text/markdown', `# T${run}\n\nbody${run}\r\n`)).toBe('# T\n\nbody');
      expect(await text('text/html', `<p>a${run}b</p>`)).toBe('a b');
      expect(page(`<title>t${run}</title><p>a${run}b</p>`)).toMatchObject({ title: 't', text: 'a b' });
    }
  });

  it('markup that never closes: `<a` repeated, `<a ` repeated, an unclosed <script>, an unclosed comment', async () => {
    const shapes = [
      `<p>before</p>${'<a'.repeat(MIB / 2)}`,
      `<p>before</p>${'<a '.repeat(MIB / 3)}`,
      `<p>before</p><script>${'a<b '.repeat(MIB / 4)}`,
      `<p>before</p><!--${'<p>'.repeat(MIB / 3)}`,
    ];
    for (const html of shapes) {
      expect(await text('text/html', html)).toBe('before');
      expect(page(html).text).toBe('before');
    }
  });

  it('deep nesting, and a page of line breaks', async () => {
    const depth = MIB / 11;
    expect(await text('text/html', `${'<div>'.repeat(depth)}deep${'</div>'.repeat(depth)}`)).toBe('deep');
    expect(await text('text/html', `<p>a${'<br>'.repeat(MIB / 4)}b</p>`)).toBe('a\n\nb');
    expect(await text('text/html', `a${'<br>\n'.repeat(MIB / 5)}b`)).toBe('a\n\nb');
  });

  it('a PDF whose text is one run of spaces', async () => {
    const blank = await extractDocument('application/pdf', { bytes: await textPdf([spaces]) }).then(() => undefined, (e: unknown) => e);
    expect((blank as Error).message).toBe('no extractable text');
    expect(await text('text/plain', `z${spaces}z`)).toBe(`z${spaces}z`);
  });

  it('chunks and counts tokens of long runs (the tokenizer is quadratic in a run)', () => {
    for (const run of [spaces, spacesAndTabs, 'x'.repeat(MIB)]) {
      const chunks = chunkText(`start ${run} end.`, { chunkTokens: 512, overlapTokens: 64 });
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.every((c) => c.tokens <= 512)).toBe(true);
      expect(estimateTokens(run)).toBeGreaterThan(0);
    }
  });
});

describe('what PostgreSQL text cannot hold', () => {
  it('NUL and lone surrogates are removed from extracted text and page titles; pairs stay', async () => {
    const dirty = 'a\u0000b \ud800c \udc00d \ud83d\ude00e';
    const clean = 'ab c d \ud83d\ude00e';
    expect(await text('text/plain', dirty)).toBe(clean);
    expect(await text('text/html', `<p>${dirty}</p>`)).toBe(clean);
    expect(page(`<title>${dirty}</title><p>${dirty}</p>`)).toMatchObject({ title: clean, text: clean });
    expect(await text('text/html', '<p>a&#0;b&#xD800;c</p>')).toBe('a\ufffdbc');
  });
});
