/**
 * The pure parts of URL ingestion: what the gateway accepts as a URL and how it is normalised
 * (one run id and one document key per resource), and what a fetched page is stored as.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createParsePool } from '../../activities/parse/pool.js';
import { normaliseSubmittedUrl, urlWorkflowId } from '../../activities/web/ingest-start.js';
import { pageDocument as pageDocumentIn } from '../../activities/web/ingest.js';
import type { FetchedPage } from '../../activities/web/index.js';

const pool = createParsePool({ threads: 1, deadlineMs: 30_000 });
afterAll(() => pool.close());
const pageDocument = (page: FetchedPage) => pageDocumentIn(page, pool);

const page = (contentType: string, body: string | Buffer, finalUrl = 'https://example.com/docs/notes.md#part'): FetchedPage => ({
  finalUrl, status: 200, contentType, charset: 'utf-8', body: Buffer.from(body), headers: {}, redirects: [],
});

describe('normaliseSubmittedUrl', () => {
  it('takes http(s) URLs in WHATWG form, without their fragment', () => {
    expect(normaliseSubmittedUrl('  HTTP://Example.COM#top ')).toEqual({ url: 'http://example.com/' });
    expect(normaliseSubmittedUrl('https://example.com/a b?q=1#x')).toEqual({ url: 'https://example.com/a%20b?q=1' });
  });

  it('names the problem with anything else', () => {
    for (const input of ['example.com', 'ftp://example.com/', 'javascript:alert(1)', 'http://u:p@example.com/', `https://e.com/${'a'.repeat(9000)}`]) {
      expect(normaliseSubmittedUrl(input), input).toHaveProperty('problem');
    }
  });

  it('names the run url-<caseId>-<first 16 hex of sha256(url)>', () => {
    const url = 'https://example.com/';
    expect(urlWorkflowId('c1', url)).toBe(`url-c1-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`);
  });
});

describe('pageDocument', () => {
  it('stores HTML as its main text, with the page title and the canonical link', async () => {
    const html = '<html><head><title> Ovens </title><link rel="canonical" href="/ovens#x"></head><body><nav>Menu</nav><article><p>Deck ovens bake evenly, and they last for decades in a busy bakery.</p></article></body></html>';
    const doc = await pageDocument(page('text/html', html, 'https://example.com/a?b=1'));
    expect(doc).toMatchObject({ title: 'Ovens', contentType: 'text/plain', canonicalUrl: 'https://example.com/ovens' });
    expect(doc.content).toContain('Deck ovens bake evenly');
    expect(doc.content).not.toContain('Menu');
  });

  it('keeps markdown and text as they came, titled by their heading or file name', async () => {
    expect(await pageDocument(page('text/markdown', 'intro\n\n## Flour notes ##\n\nRye.'))).toMatchObject({
      title: 'Flour notes', contentType: 'text/markdown', content: 'intro\n\n## Flour notes ##\n\nRye.', canonicalUrl: 'https://example.com/docs/notes.md',
    });
    expect(await pageDocument(page('text/markdown', '#not a heading\n####### nor this\n#   \n\t# Rye bread  # \r\n'))).toMatchObject({ title: 'notes.md' });
    expect(await pageDocument(page('text/markdown', `intro\n# Rye${' \t'.repeat(4000)}#x\n`))).toMatchObject({ title: `Rye${' \t'.repeat(4000)}#x`.slice(0, 300) });
    expect(await pageDocument(page('text/plain', 'plain words', 'https://example.com/'))).toMatchObject({ title: 'example.com', contentType: 'text/plain' });
    expect(await pageDocument(page('text/csv', 'a,b', 'https://example.com/data/q%201.csv'))).toMatchObject({ title: 'q 1.csv', contentType: 'text/plain' });
  });

  it('stores text without the NUL PostgreSQL text refuses, in its content and its title', async () => {
    expect(await pageDocument(page('text/plain', 'a\u0000b', 'https://example.com/x%00y.txt'))).toMatchObject({ title: 'xy.txt', content: 'ab' });
    expect(await pageDocument(page('text/markdown', '# T\u0000itle\n\nbody\u0000'))).toMatchObject({ title: 'Title', content: '# Title\n\nbody' });
  });

  it('hands a PDF over as its bytes, and refuses a type the pipeline cannot read', async () => {
    const pdf = await pageDocument(page('application/pdf', '%PDF-1.7 ...', 'https://example.com/r/report.pdf'));
    expect(pdf).toMatchObject({ title: 'report.pdf', contentType: 'application/pdf' });
    expect(Buffer.isBuffer(pdf.content)).toBe(true);
    await expect(pageDocument(page('application/json', '{}'))).rejects.toThrow(/application\/json is not one the document pipeline reads/);
  });
});
