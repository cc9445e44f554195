/**
 * fetchUrlAndIngest end to end on the file's own database and queues (issue 13): pages served
 * on loopback (allowlisted by this file's fetch config, on the site's port only) become
 * processed documents; the same URL with the same content creates nothing new; private
 * addresses are refused at once, with the reason, and no socket ever goes anywhere but
 * 127.0.0.1; the retry policy is the seed's (3 attempts, 10 s apart, no backoff) for network
 * trouble only; the time limit aborts a fetch in flight; a page with a NUL in it is stored
 * without it (PostgreSQL text refuses NUL: SQLSTATE 22021).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq } from 'drizzle-orm';
import { buildConnector } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documents, runProgress } from '../../activities/db/schema/index.js';
import { normaliseSubmittedUrl, startFetchUrlAndIngest, type UrlStartOptions } from '../../activities/web/ingest-start.js';
import type { BaseConnectorFactory } from '../../activities/web/index.js';
import { workflowIds, type FetchUrlAndIngestResult } from '../../workflows/types.js';
import { eventually, seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { chunksOf, documentEvents, documentRow, seedCase, settledDocument } from '../helpers/documents.js';
import { textPdf } from '../helpers/pdf.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { ARTICLE_PAGE, CANONICAL_PATH, dripping, failing, html, startSite, typed, type Site } from '../helpers/url-site.js';
import { fakeResolver } from '../web/loopback.js';
import { fetchHistoryFacts } from '../helpers/url-history.js';
import { workflowFailureOf } from '../helpers/failures.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let client: Client;
let site: Site;
const queues = testQueues('urls');
let userId: string;
let caseId: string;
/** The remote address of every socket the fetcher opened. */
const connected: string[] = [];

/** undici's own connector, recording where each socket it opened goes. */
const recordingConnector: BaseConnectorFactory = (options) => {
  const real = buildConnector(options);
  return (opts, callback) =>
    real(opts, (err, socket) => {
      if (socket) connected.push((socket as Socket).remoteAddress ?? 'unknown');
      (callback as (e: Error | null, s: unknown) => void)(err, socket);
    });
};

beforeAll(async () => {
  const pdf = await textPdf(['The quarterly report covers the bakery lease and its ovens.']);
  site = await startSite({
    '/article': html(ARTICLE_PAGE),
    '/revisited': html(ARTICLE_PAGE),
    '/notes.md': typed('text/markdown; charset=utf-8', '# Flour notes\n\nRye flour prices rose in spring; wheat held steady.'),
    '/report.pdf': typed('application/pdf', pdf),
    '/flaky': failing(503, 2, html('<html><head><title>Back again</title></head><body><p>The oven supplier answered at last.</p></body></html>')),
    '/slow': dripping('<html><body><p>never finishes</p>', 200, Infinity),
    '/nul.txt': typed('text/plain; charset=utf-8', 'The oven\u0000 log: rye at dawn.\u0000'),
    '/nul.html': html('<html><head><title>Nul\u0000 page</title></head><body><p>Rye\u0000 and spelt at dawn.</p></body></html>'),
  });
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  client = env.client;
  userId = (await seedUser(database.db)).id;
  caseId = await seedCase(database.db, userId);
  workers = await startTestWorkers({
    env, db: database.db, queues, fetch: site.fetchConfig,
    // A name that resolves inward: the guard must refuse it at connect time.
    fetcherDeps: { baseConnector: recordingConnector, resolve: fakeResolver({ 'intranet.test': [['10.1.2.3']] }) },
  });
});

afterAll(async () => {
  await workers?.stop();
  await site?.close();
  await env?.teardown();
  await database?.drop();
});

async function start(url: string, overrides?: UrlStartOptions['overrides']) {
  const normalised = normaliseSubmittedUrl(url);
  if (!('url' in normalised)) throw new Error(normalised.problem);
  const input = { caseId, userId, url: normalised.url, correlationId: randomUUID(), queues };
  const started = await startFetchUrlAndIngest(client, input, { deadline: Date.now() + 10_000, overrides });
  return { ...started, handle: client.workflow.getHandle(started.workflowId, started.runId), url: normalised.url };
}

const urlDocuments = (url: string) => database.db.select().from(documents).where(and(eq(documents.caseId, caseId), eq(documents.url, url)));

describe('fetchUrlAndIngest', () => {
  it('turns an HTML page into a processed document with the page\'s title and canonical URL', async () => {
    const run = await start(site.url('/article'));
    expect(run.workflowId).toMatch(new RegExp(`^url-${caseId}-[0-9a-f]{16}$`));
    const result: FetchUrlAndIngestResult = await run.handle.result();
    expect(result.created).toBe(true);
    const doc = await settledDocument(database.db, result.documentId);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'completed', error: null });
    expect(doc).toMatchObject({ source: 'url', url: site.url('/article'), title: 'Choosing ovens', canonicalUrl: site.url(CANONICAL_PATH), contentType: 'text/plain' });
    expect(doc.fetchedAt).toBeInstanceOf(Date);
    const chunks = await chunksOf(database.db, result.documentId);
    expect(chunks.length).toBeGreaterThan(0);
    const text = chunks.map((c) => c.text).join('\n');
    expect(text).toContain('Convection ovens');
    // The main content only: navigation, aside, footer and script stay out.
    for (const word of ['Quokka', 'wombat', 'narwhal', 'ocelot']) expect(text).not.toContain(word);
    expect((await documentEvents(database.db, result.documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
    const [progress] = await database.db.select().from(runProgress).where(eq(runProgress.runId, run.runId));
    expect(progress?.payload).toMatchObject({ step: 'fetched', documentId: result.documentId, created: true });
  });

  it('creates nothing new for the same URL with the same content (a fragment is the same URL)', async () => {
    const first = await (await start(site.url('/article'))).handle.result();
    const again = await start(`${site.url('/article')}#section-2`);
    expect(again.url).toBe(site.url('/article'));
    expect(await again.handle.result()).toEqual({ documentId: first.documentId, created: false });
    expect(await urlDocuments(site.url('/article'))).toHaveLength(1);
    // The document's processing is not started again, so its events stay once each.
    const runs = [];
    for await (const r of client.workflow.list({ query: `WorkflowId = "${workflowIds.document(first.documentId)}"` })) runs.push(r.runId);
    expect(runs).toHaveLength(1);
    expect((await documentEvents(database.db, first.documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
  });

  it('processes a failed document again when its URL is submitted again (a new run of document-<id>)', async () => {
    const first: FetchUrlAndIngestResult = await (await start(site.url('/revisited'))).handle.result();
    await settledDocument(database.db, first.documentId);
    // As a transient outage would leave it: the run failed, the content is fine.
    await database.db.update(documents).set({ processingStatus: 'failed', error: 'embedding failed: the service was down' }).where(eq(documents.id, first.documentId));
    const again = await (await start(site.url('/revisited'))).handle.result();
    expect(again).toEqual({ documentId: first.documentId, created: false });
    const doc = await eventually(() => documentRow(database.db, first.documentId), (d) => d.processingStatus === 'completed', 30_000);
    expect(doc.error).toBeNull();
    expect((await documentEvents(database.db, first.documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED', 'WORKFLOW_COMPLETED']);
    const runsOf = async () => {
      const runs = [];
      for await (const r of client.workflow.list({ query: `WorkflowId = "${workflowIds.document(first.documentId)}"` })) runs.push(r.runId);
      return runs;
    };
    // Visibility is eventually consistent.
    expect(await eventually(runsOf, (runs) => runs.length >= 2, 10_000)).toHaveLength(2);
  });

  it('stores markdown as it came and hands a PDF to the pipeline as a PDF', async () => {
    const md = await (await start(site.url('/notes.md'))).handle.result();
    expect(await settledDocument(database.db, md.documentId)).toMatchObject({ processingStatus: 'completed', contentType: 'text/markdown', title: 'Flour notes' });
    const pdf = await (await start(site.url('/report.pdf'))).handle.result();
    const doc = await settledDocument(database.db, pdf.documentId);
    expect(doc).toMatchObject({ processingStatus: 'completed', contentType: 'application/pdf', title: 'report.pdf', pageCount: 1 });
    expect((await documentRow(database.db, pdf.documentId)).extractedText).toContain('quarterly report');
  });

  it('stores a page with a NUL in it without the NUL, and processes it', async () => {
    for (const [path, title, words] of [['/nul.txt', 'nul.txt', 'The oven log: rye at dawn.'], ['/nul.html', 'Nul page', 'Rye and spelt at dawn.']]) {
      const result = await (await start(site.url(path!))).handle.result();
      const doc = await settledDocument(database.db, result.documentId);
      expect({ status: doc.processingStatus, error: doc.error, title: doc.title }).toEqual({ status: 'completed', error: null, title });
      expect([doc.content, doc.extractedText]).toEqual([words, words]);
    }
  });

  it('refuses private addresses at once, with the reason, and never opens a socket to them', async () => {
    const cases: [string, RegExp][] = [
      ['http://10.0.0.1/', /the address 10\.0\.0\.1 is private: refused/],
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata endpoint: refused/],
      [`http://intranet.test:${site.port}/`, /^the host intranet\.test resolves to an address that is private: refused$/],
    ];
    for (const [url, reason] of cases) {
      const run = await start(url);
      const failure = await workflowFailureOf(run.handle.result());
      expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type: 'UrlBlocked', nonRetryable: true });
      expect(failure.message).toMatch(reason);
      const facts = await fetchHistoryFacts(client, run.workflowId, run.runId);
      expect(facts.attempts, url).toEqual([1]);
      expect(facts.failedRetryState).toBe('RETRY_STATE_NON_RETRYABLE_FAILURE');
      expect(await urlDocuments(run.url)).toHaveLength(0);
    }
    // Every socket the fetcher ever opened in this file went to the loopback site.
    expect(connected.filter((address) => address !== '127.0.0.1')).toEqual([]);
  });

  it('fails at once on a 404, with the server\'s answer as the reason', async () => {
    const run = await start(site.url('/gone'));
    const failure = await workflowFailureOf(run.handle.result());
    expect(failure.type).toBe('FetchRejected');
    expect(failure.message).toBe(`the server answered 404 Not Found for ${site.url('/gone')}`);
    expect((await fetchHistoryFacts(client, run.workflowId, run.runId)).attempts).toEqual([1]);
    expect(site.arrivals('/gone')).toHaveLength(1);
  });

  it('retries a 503 per the seed\'s table: the third attempt, 10 s after the second, completes', async () => {
    const run = await start(site.url('/flaky'));
    const result = await run.handle.result();
    expect((await settledDocument(database.db, result.documentId)).title).toBe('Back again');
    const facts = await fetchHistoryFacts(client, run.workflowId, run.runId);
    expect(facts.attempts).toEqual([3]);
    expect(facts.retryPolicy).toEqual({ maximumAttempts: 3, initialIntervalMs: 10_000, backoffCoefficient: 1 });
    const [a, b, c] = site.arrivals('/flaky');
    const gaps = [b! - a!, c! - b!];
    console.log(`[fetch-url] 503, 503, 200: attempts ${gaps.map((g) => `${(g / 1000).toFixed(1)} s`).join(' and ')} apart`);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(9_500);
      expect(gap).toBeLessThan(15_000);
    }
  }, 90_000);

  it('stops at its time limit and aborts the request in flight', async () => {
    const run = await start(site.url('/slow'), { timeLimitMs: 2_000 });
    const failure = await workflowFailureOf(run.handle.result());
    expect(failure.type).toBe('TimeLimitExceeded');
    expect(failure.message).toBe('stopped: the time limit of 2 s was reached');
    // The cancellation reaches the attempt with its next heartbeat (throttled to 0.8 × 10 s).
    const deadline = Date.now() + 20_000;
    while (site.abandoned('/slow') === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(site.abandoned('/slow')).toBe(1);
    expect(await urlDocuments(run.url)).toHaveLength(0);
  }, 60_000);
});
