/**
 * `POST /v1/cases/:caseId/urls` through the gateway on the real stack (issue 13): a page
 * served on loopback (allowlisted in this file's worker only) becomes a processed document; a
 * second POST while the run is open joins it; the URL's form is a 400 naming `url`; other
 * people's cases are 404s; a private address is a run refused with a clear reason.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { documents } from '../../activities/db/schema/index.js';
import { eventually } from '../helpers/chat.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { ARTICLE_PAGE, CANONICAL_PATH, dripping, html, startSite, type Site } from '../helpers/url-site.js';
import { call, insertCase, startApi, type ApiHarness, type TestUser } from './harness.js';

let h: ApiHarness;
let workers: RunningWorkers;
let site: Site;
let caseId: string;

beforeAll(async () => {
  site = await startSite({
    '/article': html(ARTICLE_PAGE),
    // About 3 s to read: long enough for a second POST to find the run open.
    '/slow-article': dripping(ARTICLE_PAGE, 300, 10),
  });
  h = await startApi();
  workers = await startTestWorkers({ env: h.env, db: h.database.db, queues: h.queues, fetch: site.fetchConfig });
  caseId = await insertCase(h.database, h.alice.id);
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
  await site?.close();
});

const submit = (user: TestUser, payload: unknown, target = caseId) =>
  call(h.app, user, { method: 'POST', url: `/v1/cases/${target}/urls`, payload: payload as object });
const status = (workflowId: string) => call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${workflowId}` });
const closed = (workflowId: string) =>
  eventually(async () => (await status(workflowId)).json(), (run) => run.status !== 'RUNNING', 60_000);

describe('POST /v1/cases/:caseId/urls', () => {
  it('answers 202 with url-<caseId>-<hash>, and the page becomes a processed document', async () => {
    const url = site.url('/article');
    const res = await submit(h.alice, { url });
    expect(res.statusCode, res.body).toBe(202);
    const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
    expect(res.json()).toEqual({ workflowId: `url-${caseId}-${hash}` });
    const run = await closed(res.json().workflowId);
    expect(run).toMatchObject({ type: 'fetchUrlAndIngest', status: 'COMPLETED', result: { created: true }, progress: { step: 'fetched' } });
    const { documentId } = run.result as { documentId: string };
    expect(run.progress.documentId).toBe(documentId);
    const doc = await eventually(
      async () => (await call(h.app, h.alice, { method: 'GET', url: `/v1/documents/${documentId}` })).json(),
      (d) => d.processingStatus !== 'pending' && d.processingStatus !== 'processing',
      60_000,
    );
    expect(doc).toMatchObject({ caseId, source: 'url', url, title: 'Choosing ovens', processingStatus: 'completed', error: null });
    expect(doc.chunkCount).toBeGreaterThan(0);
    const [row] = await h.database.db.select().from(documents).where(eq(documents.id, documentId));
    expect(row?.canonicalUrl).toBe(site.url(CANONICAL_PATH));
    // Another user sees neither the run nor the document.
    expect((await call(h.app, h.bob, { method: 'GET', url: `/v1/workflows/${res.json().workflowId}` })).statusCode).toBe(404);
  });

  it('joins the open run when the same URL is posted again, and fetches once', async () => {
    const url = site.url('/slow-article');
    const first = await submit(h.alice, { url });
    const second = await submit(h.alice, { url: `${url}#again` });
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    expect(second.json().workflowId).toBe(first.json().workflowId);
    expect((await closed(first.json().workflowId)).status).toBe('COMPLETED');
    expect(site.arrivals('/slow-article')).toHaveLength(1);
    expect(await h.database.db.select({ id: documents.id }).from(documents).where(eq(documents.url, url))).toHaveLength(1);
  });

  it('answers 400 naming url for what is not an http(s) URL', async () => {
    const bad: unknown[] = [
      { url: 'ftp://example.com/file.txt' },
      { url: 'not a url' },
      { url: 'http://user:secret@example.com/' },
      { url: '' },
      {},
      { url: 42 },
    ];
    for (const payload of bad) {
      const res = await submit(h.alice, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().field, JSON.stringify(payload)).toBe('url');
    }
    const extra = await submit(h.alice, { url: site.url('/article'), depth: 2 });
    expect([extra.statusCode, extra.json().field]).toEqual([400, 'depth']);
  });

  it('answers 404 for a case that is not the caller\'s', async () => {
    expect((await submit(h.bob, { url: site.url('/article') })).statusCode).toBe(404);
    expect((await submit(h.alice, { url: site.url('/article') }, '00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
  });

  it('refuses a private address with a clear reason, in the run', async () => {
    const res = await submit(h.alice, { url: 'http://10.0.0.1/admin' });
    expect(res.statusCode).toBe(202);
    const run = await closed(res.json().workflowId);
    expect(run.status).toBe('FAILED');
    expect(run.failure.message).toBe('the address 10.0.0.1 is private: refused');
  });
});
