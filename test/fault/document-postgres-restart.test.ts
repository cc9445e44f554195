/**
 * Fault test (issue 13; reliability T7): PostgreSQL restarted with `-m immediate` during 10
 * ingestions. The test owns the database (test/helpers/owned-postgres.ts: a throw-away
 * cluster, or the embedded server as a child process; never the shared server, with or
 * without DATABASE_URL) and runs the worker as a child process on it
 * (test/fault/document-worker-process.ts, embedding slowed so documents are mid-pipeline).
 * Seven runs are under way, some embedding, one or more done; three more are started as the
 * database goes down, so their first step meets the outage. After the restart every
 * document must complete, none twice: one document row per upload, one run per workflow
 * id, one WORKFLOW_COMPLETED and one DOCUMENT_ADDED each, chunks with contiguous ordinals
 * (as many as chunking the text gives), no drafts left, and no activity that ran past its
 * time limits. A worker child that dies meanwhile is replaced (as a supervisor would), so
 * the checks still say whether the work came through whole, and the test fails last with
 * how it died: with postgres.js 3.4.9 it sometimes does (an uncaught TypeError in
 * `nextWrite` on a connection the restart closed, porsager/postgres#1208).
 */
import { randomUUID } from 'node:crypto';
import { count, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chunkDrafts, documents } from '../../activities/db/schema/index.js';
import { chunkText } from '../../activities/documents/chunk.js';
import { extractDocument } from '../../activities/documents/extract.js';
import { startProcessDocument } from '../../activities/documents/start.js';
import { storeDocument } from '../../activities/documents/store.js';
import { activityRecords, type ActivityRecord } from '../helpers/activity-history.js';
import { chunksOf, documentEvents, documentRow, seedCase } from '../helpers/documents.js';
import { sleep, startNode, stopChild, waitFor, type Child } from '../helpers/child-process.js';
import { createOwnedPostgres, type OwnedPostgres } from '../helpers/owned-postgres.js';
import { startFaultStack, faultBundleFile, type FaultStack } from './harness.js';

/** 64-token chunks, 4 per batch: the documents below make 3 to 30 batches each. */
const SIZES = { CHUNK_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '8', EMBED_BATCH_SIZE: '4' };
const CHUNK_SIZES = { chunkTokens: 64, overlapTokens: 8 };
const BATCH = 4;
const EMBED_DELAY_MS = 250;
const DOCUMENTS = 10;
/** Runs started before the restart; the rest are started as the database goes down. */
const BEFORE = 7;
/** How long the database stays down (then `start` waits until it answers). */
const DOWN_MS = 4_000;
/** Every run must end this soon after the database is back. */
const SETTLE_MS = 120_000;

const textOf = (i: number) =>
  Array.from({ length: 30 + 25 * i }, (_, p) => `Paragraph ${p} of filing ${i} weighs the lease, the ovens and the flour prices of bakery ${i}-${p}.`).join('\n\n');

let pg: OwnedPostgres;
let stack: FaultStack;
let bundlePath: string;
let worker: Child | undefined;
/** How each worker child that died on its own ended (its last output): a replacement takes over, as a supervisor's would. */
const crashes: string[] = [];
/** postgres.js 3.4.9's uncatchable write to a closed socket (see the last check). */
const KNOWN_DRIVER_CRASH = { test: (crash: string) => crash.includes("Cannot read properties of null (reading 'write')") && /postgres[\\/]src[\\/]connection\.js/.test(crash) };
let stopping = false;
/** Embedding calls the worker made (its `embed-call` lines, counted as they arrive: its kept output is only a tail). */
let embedCalls = 0;

beforeAll(async () => {
  pg = await createOwnedPostgres();
  console.log(`[document-pg-restart] database: ${pg.describe()}`);
  stack = await startFaultStack({ label: 'doc-pg', temporalAddress: inject('temporalAddress'), databaseUrl: pg.url });
  bundlePath = await faultBundleFile('doc-pg');
});

afterAll(async () => {
  stopping = true;
  await stopChild(worker, 5_000);
  if (process.env.FAULT_SHOW_WORKER_LOG && worker) console.log(`[document-pg-restart] worker output:\n${worker.output()}`);
  await stack?.close();
  await pg?.destroy();
});

/** When the database went down: crashes are told relative to it. */
let downAt: number | undefined;

async function startWorker(name = 'document worker'): Promise<Child> {
  const prefix = stack.queues.ingest.slice(0, -'ingest'.length);
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...SIZES,
    TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: pg.url, CASEWORK_QUEUE_PREFIX: prefix,
    CASEWORK_SCHEDULES: 'off', LLM_PROVIDER: 'local', EMBEDDING_PROVIDER: 'local', LOG_LEVEL: 'warn',
    FAULT_WORKFLOW_BUNDLE: bundlePath, FAULT_EMBED_DELAY_MS: String(EMBED_DELAY_MS), WORKER_SHUTDOWN_GRACE_MS: '1000',
  };
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE', 'TEMPORAL_NAMESPACE']) delete env[name];
  const child = startNode(name, 'test/fault/document-worker-process.ts', [], env);
  let partial = '';
  child.proc.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    embedCalls += lines.filter((l) => l.startsWith('embed-call ')).length;
  });
  await waitFor(`${child.name} to be ready`, async () => (child.output().includes('fault-worker ready') ? true : undefined), 150_000, child);
  void child.exited.then(async (code) => {
    if (stopping || worker !== child) return;
    const tail = child.output().split('\n').filter((l) => l.trim() && !l.startsWith('embed-call ')).slice(-30).join('\n');
    const when = downAt === undefined ? 'before the database went down' : `${((Date.now() - downAt) / 1000).toFixed(1)} s after the database went down`;
    crashes.push(`${child.name} exited (${code ?? child.proc.signalCode}) ${when}:\n${tail}`);
    console.log(`[document-pg-restart] ${crashes.at(-1)}\n[document-pg-restart] starting a replacement worker`);
    try {
      worker = await startWorker(`document worker #${crashes.length + 1}`);
    } catch (err) {
      crashes.push(`the replacement worker did not start: ${String(err)}`);
    }
  });
  return child;
}

interface Submitted {
  index: number;
  documentId: string;
  workflowId: string;
  /** What chunking its extracted text gives: the chunks it must end with. */
  expected: { text: string }[];
}

/** Where each document stands, from the database: its status and its drafts (embedding under way). */
async function snapshot(ids: string[]) {
  const rows = await stack.db.select({ id: documents.id, status: documents.processingStatus }).from(documents).where(inArray(documents.id, ids));
  const drafts = await stack.db.select({ id: chunkDrafts.documentId, n: count() }).from(chunkDrafts).where(inArray(chunkDrafts.documentId, ids)).groupBy(chunkDrafts.documentId);
  const status = (s: string) => rows.filter((r) => r.status === s).length;
  return { completed: status('completed'), processing: status('processing'), pending: status('pending'), failed: status('failed'), embedding: drafts.length };
}

const describeRecord = (r: ActivityRecord) =>
  `${r.workflowId} ${r.type} #${r.activityId}: ${r.outcome}, attempt ${r.attempt}, ran ${(r.runMs / 1000).toFixed(1)} s${r.failure ? ` (${r.failure.slice(0, 160)})` : ''}`;

/** What the runs still going wait for: their pending activities as the server sees them, the database's sessions, the worker's log. */
async function printStuck(stuck: Submitted[]): Promise<void> {
  for (const d of stuck) {
    const described = await stack.client.workflow.getHandle(d.workflowId).describe();
    for (const a of described.raw.pendingActivities ?? []) {
      const t = (x: { seconds?: unknown } | null | undefined) => (x ? new Date(Number(x.seconds ?? 0) * 1000).toISOString().slice(11, 19) : '-');
      console.log(
        `[document-pg-restart] stuck: document ${d.index} ${a.activityType?.name} state ${a.state} attempt ${a.attempt}, ` +
          `last started ${t(a.lastStartedTime)}, last heartbeat ${t(a.lastHeartbeatTime)}, last failure: ${a.lastFailure?.message ?? '-'}`,
      );
    }
  }
  const sessions = await stack.db.execute(
    sql`select pid, state, wait_event_type, wait_event, now() - state_change as for, left(query, 80) as query from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`,
  );
  console.log(`[document-pg-restart] database sessions:\n${JSON.stringify(sessions, null, 1).slice(0, 4000)}`);
  console.log(`[document-pg-restart] worker output (tail):\n${worker?.output().slice(-6000)}`);
}

describe('PostgreSQL restarted (-m immediate) during 10 ingestions', () => {
  it('completes every document once, with no duplicate chunk and no activity hung past its limit', async () => {
    worker = await startWorker();
    const caseId = await seedCase(stack.db, stack.userId);
    const submitted: Submitted[] = [];
    // Stored first, as the gateway stores an upload: the store needs the database, the start does not.
    for (let i = 0; i < DOCUMENTS; i++) {
      const text = textOf(i);
      const { document } = await storeDocument(stack.db, { caseId, userId: stack.userId, source: 'upload', title: `filing-${i}.txt`, contentType: 'text/plain', content: text });
      const expected = chunkText((await extractDocument('text/plain', { text })).text, CHUNK_SIZES);
      submitted.push({ index: i, documentId: document.id, workflowId: `document-${document.id}`, expected });
    }
    const start = (d: Submitted) =>
      startProcessDocument(
        stack.client,
        { documentId: d.documentId, caseId, userId: stack.userId, correlationId: randomUUID(), queues: stack.queues },
        { deadline: Date.now() + 10_000 },
      );
    for (const d of submitted.slice(0, BEFORE)) await start(d);
    const ids = submitted.map((d) => d.documentId);
    const before = await waitFor(
      'one document completed and two embedding',
      async () => {
        const s = await snapshot(ids);
        return s.completed >= 1 && s.embedding >= 2 ? s : undefined;
      },
      60_000,
      worker,
    );
    await Promise.all(submitted.slice(BEFORE).map(start));
    downAt = Date.now();
    await pg.stop();
    const embedCallsAtStop = embedCalls;
    await sleep(Math.max(0, DOWN_MS - (Date.now() - downAt)));
    await pg.start();
    const upAt = Date.now();
    console.log(
      `[document-pg-restart] down for ${((upAt - downAt) / 1000).toFixed(1)} s; at the stop: ${JSON.stringify(before)} of ${BEFORE} started, ` +
        `${DOCUMENTS - BEFORE} started as it went down; ${embedCallsAtStop} embed calls so far`,
    );

    // Every run ends (Temporal alone: no query of the database while we wait).
    const outcomes = await Promise.all(
      submitted.map(async (d) => {
        const timer = sleep(SETTLE_MS).then(() => 'still running' as const);
        const result = stack.client.workflow.getHandle(d.workflowId).result().then(() => 'completed' as const, (err: unknown) => `failed: ${String(err)}`);
        return Promise.race([result, timer]);
      }),
    );
    const settledS = (Date.now() - upAt) / 1000;
    if (outcomes.some((o) => o !== 'completed')) await printStuck(submitted.filter((_, i) => outcomes[i] !== 'completed'));
    const records = (await Promise.all(submitted.map((d) => activityRecords(stack.client, d.workflowId)))).flat();
    const retried = records.filter((r) => r.attempt > 1 || r.outcome !== 'completed');
    console.log(`[document-pg-restart] all runs ended ${settledS.toFixed(1)} s after the restart; ${records.length} activities, ${retried.length} failed or retried:`);
    for (const r of retried) console.log(`  ${describeRecord(r)}`);
    const totalBatches = submitted.reduce((n, d) => n + Math.ceil(d.expected.length / BATCH), 0);
    console.log(`[document-pg-restart] ${embedCalls} embed calls for ${totalBatches} batches (${embedCalls - totalBatches} embedded again)`);

    expect(outcomes, 'every run completed').toEqual(submitted.map(() => 'completed'));

    // No activity ran past its limits (a hang a timeout caught is listed above, as the attempt's failure).
    for (const r of records) {
      expect(r.outcome, describeRecord(r)).not.toBe('pending');
      if (r.startToCloseMs !== undefined) expect(r.runMs, describeRecord(r)).toBeLessThanOrEqual(r.startToCloseMs);
    }
    const caught = records.filter((r) => /timeout|timed out/i.test(r.failure ?? ''));
    if (caught.length > 0) console.log(`[document-pg-restart] ${caught.length} activities had an attempt ended by a timeout (a worker died under it, or it hung)`);
    expect(Math.max(...records.map((r) => r.runMs)), 'the longest activity attempt (ms)').toBeLessThan(60_000);

    // One document row per upload, one run per workflow id.
    const rows = await stack.db.select({ id: documents.id, title: documents.title }).from(documents).where(eq(documents.caseId, caseId));
    expect(rows.map((r) => r.title).sort()).toEqual(submitted.map((d) => `filing-${d.index}.txt`).sort());
    const runs: { id: string; type: string }[] = [];
    for await (const w of stack.client.workflow.list({ query: `TaskQueue = '${stack.queues.ingest}'` })) runs.push({ id: w.workflowId, type: w.type });
    const ofType = (type: string) => runs.filter((r) => r.type === type).map((r) => r.id).sort();
    expect(ofType('processDocument')).toEqual(submitted.map((d) => d.workflowId).sort());
    // The documents' evidence (their passages' ingestions, children that outlive them): each item's run started once.
    expect(new Set(ofType('ingestEvidence')).size).toBe(ofType('ingestEvidence').length);

    for (const d of submitted) {
      const doc = await documentRow(stack.db, d.documentId);
      expect({ status: doc.processingStatus, error: doc.error }, `document ${d.index}`).toEqual({ status: 'completed', error: null });
      const expected = d.expected;
      const stored = await chunksOf(stack.db, d.documentId);
      // No duplicate and no gap: ordinals 0..n-1, as many as chunking the text gives, each with its text and a vector.
      expect(stored.map((c) => c.ordinal), `document ${d.index} ordinals`).toEqual(expected.map((_, i) => i));
      expect(stored.map((c) => c.text), `document ${d.index} texts`).toEqual(expected.map((c) => c.text));
      expect(stored.every((c) => c.embedding.length === 256), `document ${d.index} vectors`).toBe(true);
      expect(doc.chunkCount).toBe(expected.length);
      const [drafts] = await stack.db.select({ n: count() }).from(chunkDrafts).where(eq(chunkDrafts.documentId, d.documentId));
      expect(drafts?.n, `document ${d.index} drafts left`).toBe(0);
      const events = await documentEvents(stack.db, d.documentId);
      expect(events.map((e) => e.type), `document ${d.index} events`).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
      expect((events[0]!.payload as { chunks?: number }).chunks).toBe(expected.length);
    }
    expect(settledS, 'seconds from the restart until every run ended').toBeLessThan(SETTLE_MS / 1000);
    // A worker may die of one known driver bug when the server drops its sockets: postgres.js
    // 3.4.9 writes to a socket it already nulled (porsager/postgres#1208, #1154; fixes
    // proposed, none released), an exception no caller can catch. A supervisor restarts it
    // (as this test does), and the checks above prove nothing was lost or done twice then.
    // Any other crash is a failure.
    const unexplained = crashes.filter((c) => !KNOWN_DRIVER_CRASH.test(c));
    if (crashes.length > unexplained.length) console.warn(`[document-pg-restart] ${crashes.length - unexplained.length} worker crash(es) from the known postgres.js bug, recovered by a restart`);
    expect(unexplained, 'the worker process survived the restart (or died only of the known driver bug)').toEqual([]);
  }, 200_000);
});
