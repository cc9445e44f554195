/**
 * Fault test (issue 13; reliability T4): the worker is SIGKILLed while a large document is
 * being embedded, after the server holds a heartbeat naming batch k; a new worker finishes
 * it. The retry resumes after batch k: the second worker embeds only what was not stored
 * (fewer calls than a restart from zero), and the document ends with one chunk per ordinal,
 * one completion event and no drafts left. The embedder is counted in the child processes.
 * The same holds for a reprocess (issue 16): its run, killed mid-embedding, completes on a
 * new worker with the chunks replaced once and one completion event per run.
 */
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chunkDrafts } from '../../activities/db/schema/index.js';
import type { EmbedCheckpoint } from '../../activities/documents/embed.js';
import { eventually } from '../helpers/chat.js';
import {
  chunksOf, documentEvents, documentRow, reprocessDocument, seedCase, settledDocument, submitDocument,
} from '../helpers/documents.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { killChild, startNode, stopChild, waitFor, type Child } from '../helpers/child-process.js';
import { startFaultStack, faultBundleFile, type FaultStack } from './harness.js';

/** 64-token chunks, 4 per batch: the text below makes about 40 batches. */
const SIZES = { CHUNK_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '8', EMBED_BATCH_SIZE: '4' };
/** Slow enough that the kill lands mid-document after the throttled heartbeat got out (0.8 × 20 s). */
const EMBED_DELAY_MS = 700;
const TEXT = Array.from({ length: 450 }, (_, i) => `Paragraph ${i} weighs the lease, the ovens and the flour prices of bakery number ${i}.`).join('\n\n');

let database: TestDatabase;
let stack: FaultStack;
let bundlePath: string;
const children: Child[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  stack = await startFaultStack({ label: 'doc-kill', temporalAddress: inject('temporalAddress'), databaseUrl: database.url });
  bundlePath = await faultBundleFile('doc');
});

afterAll(async () => {
  for (const child of children) await stopChild(child, 5_000);
  await stack?.close();
  await database?.drop();
});

async function startWorker(delayMs: number): Promise<Child> {
  // The harness's queues are `<prefix>chat`, `<prefix>ingest`, ...: the child serves the same.
  const prefix = stack.queues.ingest.slice(0, -'ingest'.length);
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...SIZES,
    TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: database.url, CASEWORK_QUEUE_PREFIX: prefix,
    CASEWORK_SCHEDULES: 'off', LLM_PROVIDER: 'local', EMBEDDING_PROVIDER: 'local', LOG_LEVEL: 'warn',
    FAULT_WORKFLOW_BUNDLE: bundlePath, FAULT_EMBED_DELAY_MS: String(delayMs), WORKER_SHUTDOWN_GRACE_MS: '1000',
  };
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_NAMESPACE']) delete env[name];
  const child = startNode(`document worker #${children.length + 1}`, 'test/fault/document-worker-process.ts', [], env);
  children.push(child);
  await waitFor(`${child.name} to be ready`, async () => (child.output().includes('fault-worker ready') ? true : undefined), 120_000, child);
  return child;
}

const embedCalls = (child: Child) => child.output().split('\n').filter((l) => l.startsWith('embed-call ')).length;

/** The embedding activity's last heartbeat as the server holds it, once it names a batch. */
async function serverCheckpoint(workflowId: string): Promise<EmbedCheckpoint | undefined> {
  const described = await stack.client.workflow.getHandle(workflowId).describe();
  const pending = described.raw.pendingActivities?.find((a) => a.activityType?.name === 'embedDocumentChunks');
  const data = pending?.heartbeatDetails?.payloads?.[0]?.data;
  if (!data || data.length === 0) return undefined;
  const details = JSON.parse(Buffer.from(data).toString('utf8')) as EmbedCheckpoint | null;
  return details?.lastBatch !== undefined ? details : undefined;
}

describe('worker SIGKILL during a large document’s embedding', () => {
  it('resumes from the heartbeat, embeds the rest once, and leaves no duplicate chunk', async () => {
    const caseId = await seedCase(stack.db, stack.userId);
    const first = await startWorker(EMBED_DELAY_MS);
    const { documentId, workflowId } = await submitDocument(
      { db: stack.db, client: stack.client, queues: stack.queues, caseId, userId: stack.userId },
      { title: 'large.txt', contentType: 'text/plain', content: TEXT },
    );
    const checkpoint = await waitFor('a heartbeat that names a batch', () => serverCheckpoint(workflowId), 60_000, first);
    await killChild(first);
    const killedAt = Date.now();
    const firstCalls = embedCalls(first);
    console.log(`[document-kill] killed after ${firstCalls} embed calls; the server's heartbeat names batch ${checkpoint.lastBatch}`);

    const second = await startWorker(50);
    const doc = await settledDocument(stack.db, documentId, 150_000);
    const secondCalls = embedCalls(second);
    const stored = await chunksOf(stack.db, documentId);
    const batches = Math.ceil(stored.length / Number(SIZES.EMBED_BATCH_SIZE));
    console.log(
      `[document-kill] ${stored.length} chunks in ${batches} batches; second worker: ${secondCalls} embed calls, done ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`,
    );
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'completed', error: null });
    expect(batches).toBeGreaterThan(checkpoint.lastBatch + 5);
    // Resumed after the heartbeat's batch (any batch stored after it is skipped, not embedded again) ...
    expect(secondCalls).toBeLessThanOrEqual(batches - (checkpoint.lastBatch + 1));
    expect(secondCalls).toBeGreaterThan(0);
    // ... so fewer calls in all than a restart from zero would have made.
    expect(firstCalls + secondCalls).toBeLessThan(firstCalls + batches);
    expect(firstCalls + secondCalls).toBeLessThanOrEqual(batches + 1);
    expect(stored.map((c) => c.ordinal)).toEqual(stored.map((_, i) => i));
    expect((await documentRow(stack.db, documentId)).chunkCount).toBe(stored.length);
    const [drafts] = await stack.db.select({ n: count() }).from(chunkDrafts).where(and(eq(chunkDrafts.documentId, documentId)));
    expect(drafts?.n).toBe(0);
    expect((await documentEvents(stack.db, documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
    await stopChild(second, 5_000);
  }, 240_000);

  it('a reprocess killed mid-embedding completes on a new worker, replacing the chunks once', async () => {
    const caseId = await seedCase(stack.db, stack.userId);
    const owner = { db: stack.db, client: stack.client, queues: stack.queues, caseId, userId: stack.userId };
    const fast = await startWorker(0);
    const { documentId, workflowId } = await submitDocument(owner, { title: 'reprocessed.txt', contentType: 'text/plain', content: TEXT });
    const before = await chunksOf(stack.db, (await settledDocument(stack.db, documentId, 120_000)).id);
    await stopChild(fast, 5_000);

    const slow = await startWorker(EMBED_DELAY_MS);
    await reprocessDocument(owner, documentId);
    const checkpoint = await waitFor('a heartbeat of the reprocess that names a batch', () => serverCheckpoint(workflowId), 60_000, slow);
    await killChild(slow);
    console.log(`[document-kill] reprocess killed after ${embedCalls(slow)} embed calls; the heartbeat names batch ${checkpoint.lastBatch}`);
    const finisher = await startWorker(50);
    const doc = await eventually(() => documentRow(stack.db, documentId), (d) => d.processingStatus === 'completed' || d.processingStatus === 'failed', 150_000);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'completed', error: null });
    expect(embedCalls(finisher)).toBeGreaterThan(0);
    const stored = await chunksOf(stack.db, documentId);
    expect(stored.map((c) => c.ordinal)).toEqual(before.map((c) => c.ordinal));
    expect(stored.map((c) => c.text)).toEqual(before.map((c) => c.text));
    expect(doc.chunkCount).toBe(stored.length);
    const [drafts] = await stack.db.select({ n: count() }).from(chunkDrafts).where(eq(chunkDrafts.documentId, documentId));
    expect(drafts?.n).toBe(0);
    const events = await documentEvents(stack.db, documentId);
    expect(events.map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED', 'WORKFLOW_COMPLETED']);
    expect(new Set(events.filter((e) => e.type === 'WORKFLOW_COMPLETED').map((e) => e.runId)).size).toBe(2);
  }, 300_000);
});
