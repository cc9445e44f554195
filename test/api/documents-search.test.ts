/**
 * Issue 13, through the gateway on the real stack: a markdown, an HTML and a PDF document
 * each reach `completed` with chunks and vectors, and `GET …/search` finds a passage of each
 * by a word only it contains.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunks } from '../../activities/db/schema/index.js';
import { eventually } from '../helpers/chat.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { textPdf } from '../helpers/pdf.js';
import { call, startApi, type ApiHarness } from './harness.js';

let h: ApiHarness;
let workers: RunningWorkers;

beforeAll(async () => {
  h = await startApi();
  workers = await startTestWorkers({ env: h.env, db: h.database.db, queues: h.queues });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

const html = `<!doctype html><html><head><title>Oven leasing</title></head><body>
<nav>Home | Pricing | Zeppelinnavigation</nav>
<article><h1>Oven leasing</h1><p>Leasing a deck oven spreads the cost over five years. The
lessor services the quokkaoven twice a year and replaces worn stones at no charge.</p>
<p>Buying outright is cheaper after year four, but ties up capital the bakery needs for staff.</p></article>
<footer>Copyright</footer></body></html>`;

async function upload(caseId: string, body: { title: string; contentType: string; content: string }) {
  const res = await call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/documents`, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ document: { id: string }; workflowId: string }>();
}

async function completed(documentId: string) {
  return eventually(
    async () => (await call(h.app, h.alice, { method: 'GET', url: `/v1/documents/${documentId}` })).json(),
    (d) => d.processingStatus === 'completed' || d.processingStatus === 'failed',
    60_000,
  );
}

async function search(caseId: string, q: string) {
  const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/cases/${caseId}/search?q=${encodeURIComponent(q)}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ passages: { documentId: string; snippet: string }[] }>().passages;
}

describe('documents through the gateway, then search', () => {
  it('a markdown, an HTML and a PDF document complete with vectors and are each found by a word only they contain', async () => {
    const created = await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'Second bakery' } });
    const caseId = created.json<{ id: string }>().id;
    const pdf = await textPdf(['Page one: the flour supplier in Harrogate delivers on Mondays.', 'Page two: the wombatflour contract renews every March.']);
    const uploaded = {
      markdown: await upload(caseId, { title: 'Rents', contentType: 'text/markdown', content: '# Rents\n\nShops near the station cost about 2000 pounds a month; the platypusrent clause caps rises at 3%.' }),
      html: await upload(caseId, { title: 'Ovens', contentType: 'text/html', content: html }),
      pdf: await upload(caseId, { title: 'Supplier', contentType: 'application/pdf', content: pdf.toString('base64') }),
    };
    for (const { document } of Object.values(uploaded)) {
      const done = await completed(document.id);
      expect(done, JSON.stringify(done)).toMatchObject({ processingStatus: 'completed' });
      expect(done.chunkCount).toBeGreaterThan(0);
      const rows = await h.database.db.select().from(chunks).where(eq(chunks.documentId, document.id));
      expect(rows.length).toBe(done.chunkCount);
      expect(rows.every((r) => Array.isArray(r.embedding) && r.embedding.length > 0)).toBe(true);
    }
    const words: Record<keyof typeof uploaded, string> = { markdown: 'platypusrent', html: 'quokkaoven', pdf: 'wombatflour' };
    for (const [kind, word] of Object.entries(words) as [keyof typeof uploaded, string][]) {
      const [top] = await search(caseId, word);
      expect(top?.documentId, `${kind}: ${word}`).toBe(uploaded[kind].document.id);
      expect(top?.snippet.toLowerCase()).toContain(word);
    }
    // The HTML page's navigation is not content: nothing is found by a word only the nav holds.
    const nav = await search(caseId, 'Zeppelinnavigation');
    expect(nav.filter((p) => p.snippet.toLowerCase().includes('zeppelinnavigation'))).toEqual([]);
  });
});
