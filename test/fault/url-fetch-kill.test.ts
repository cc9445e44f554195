/**
 * Fault test (issue 13): the worker is SIGKILLed while a URL's fetch is in flight (a loopback
 * page that drips its body); a new worker finishes the run. The dead attempt is noticed by its
 * heartbeat timeout (10 s) and retried 10 s later, per the seed's table; the page is fetched
 * again, and the case ends with exactly one document, processed once.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { documents } from '../../activities/db/schema/index.js';
import { normaliseSubmittedUrl, startFetchUrlAndIngest } from '../../activities/web/ingest-start.js';
import type { FetchUrlAndIngestResult } from '../../workflows/types.js';
import { killChild, startNode, stopChild, waitFor, type Child } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { documentEvents, seedCase, settledDocument } from '../helpers/documents.js';
import { fetchHistoryFacts } from '../helpers/url-history.js';
import { ARTICLE_PAGE, dripping, startSite, type Page, type Site } from '../helpers/url-site.js';
import { startFaultStack, faultBundleFile, type FaultStack } from './harness.js';

let database: TestDatabase;
let stack: FaultStack;
let site: Site;
let bundlePath: string;
const children: Child[] = [];

/** The first request never finishes (the worker dies under it); later ones take about a second. */
const page: Page = (req, res, n) => (n === 1 ? dripping(ARTICLE_PAGE, 250, Infinity) : dripping(ARTICLE_PAGE, 100, 10))(req, res, n);

beforeAll(async () => {
  site = await startSite({ '/page': page });
  database = await createTestDatabase();
  stack = await startFaultStack({ label: 'url-kill', temporalAddress: inject('temporalAddress'), databaseUrl: database.url });
  bundlePath = await faultBundleFile('url');
});

afterAll(async () => {
  for (const child of children) await stopChild(child, 5_000);
  await stack?.close();
  await database?.drop();
  await site?.close();
});

async function startWorker(): Promise<Child> {
  // The harness's queues are `<prefix>chat`, `<prefix>ingest`, ...: the child serves the same.
  const prefix = stack.queues.ingest.slice(0, -'ingest'.length);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: database.url, CASEWORK_QUEUE_PREFIX: prefix,
    CASEWORK_SCHEDULES: 'off', LLM_PROVIDER: 'local', EMBEDDING_PROVIDER: 'local', LOG_LEVEL: 'warn',
    FAULT_WORKFLOW_BUNDLE: bundlePath, WORKER_SHUTDOWN_GRACE_MS: '1000',
    // The site, and only the site: loopback on its port.
    FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.0/8', FETCH_ALLOWED_PORTS: String(site.port),
  };
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_NAMESPACE']) delete env[name];
  const child = startNode(`url worker #${children.length + 1}`, 'test/fault/url-worker-process.ts', [], env);
  children.push(child);
  await waitFor(`${child.name} to be ready`, async () => (child.output().includes('fault-worker ready') ? true : undefined), 120_000, child);
  return child;
}

describe('worker SIGKILL while a URL is being fetched', () => {
  it('retries the fetch on a new worker, and the case gets exactly one document', async () => {
    const caseId = await seedCase(stack.db, stack.userId);
    const first = await startWorker();
    const normalised = normaliseSubmittedUrl(site.url('/page'));
    if (!('url' in normalised)) throw new Error(normalised.problem);
    const input = { caseId, userId: stack.userId, url: normalised.url, correlationId: randomUUID(), queues: stack.queues };
    const { workflowId, runId } = await startFetchUrlAndIngest(stack.client, input, { deadline: Date.now() + 10_000 });
    await waitFor('the fetch to be in flight', async () => (site.arrivals('/page').length > 0 ? true : undefined), 60_000, first);
    // Let a heartbeat get out, so the kill lands mid-body, not before the first beat.
    await new Promise((r) => setTimeout(r, 1_500));
    await killChild(first);
    const killedAt = Date.now();

    const second = await startWorker();
    const result: FetchUrlAndIngestResult = await stack.client.workflow.getHandle(workflowId, runId).result();
    console.log(`[url-kill] the run completed ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`);
    expect(result.created).toBe(true);
    const doc = await settledDocument(stack.db, result.documentId, 60_000);
    expect({ status: doc.processingStatus, error: doc.error, title: doc.title }).toEqual({ status: 'completed', error: null, title: 'Choosing ovens' });
    expect(await stack.db.select({ id: documents.id }).from(documents).where(eq(documents.caseId, caseId))).toHaveLength(1);
    expect((await documentEvents(stack.db, result.documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
    // The dead worker's request was cut off; the second attempt fetched the page whole.
    expect(site.arrivals('/page')).toHaveLength(2);
    expect(site.abandoned('/page')).toBe(1);
    expect((await fetchHistoryFacts(stack.client, workflowId, runId)).attempts).toEqual([2]);
    expect(second.alive()).toBe(true);
  }, 240_000);
});
