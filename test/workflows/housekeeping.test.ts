/**
 * The housekeeping jobs (issue 18, "The seed's stubs, built"; Decisions 33, 34):
 * - cleanupOldEvents deletes exactly what it should: events past the retention but not the
 *   audit types, not the types workflows read back as state, not those of a workflow with an
 *   open run; Idempotency-Key answers past their 24 h and not the live ones; progress rows of
 *   closed runs past the retention and not an open run's nor a recent one's. In batches; a dry
 *   run counts and deletes nothing; a second run deletes nothing; a MAINTENANCE_REPORT each; an
 *   unreachable database is held.
 * - after a cleanup of their old rows, an on-demand extraction run again (as after Temporal
 *   forgot its closed run) and a document processed again duplicate nothing.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunks, documents, events, idempotencyKeys, runProgress, signals } from '../../activities/db/schema/index.js';
import { DEFAULT_DOCUMENT_SETTINGS } from '../../activities/documents/settings.js';
import { contentHash } from '../../activities/documents/store.js';
import type { Activities } from '../../activities/index.js';
import { createRetention } from '../../activities/maintenance/retention.js';
import { extractionWorkflowId, startExtractSignals } from '../../activities/signal-extraction.js';
import type { cleanupOldEvents } from '../../workflows/index.js';
import type { CleanupOldEventsInput, CleanupOldEventsReport, ExtractSignalsInput, ExtractSignalsResult } from '../../workflows/types.js';
import { insertCase, startApi, type ApiHarness } from '../api/harness.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { eventually } from '../helpers/chat.js';
import { chunksOf, reprocessDocument, settledDocument, submitDocument } from '../helpers/documents.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { testQueues, uniqueId } from '../helpers/temporal.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let h: ApiHarness;
let workers: RunningWorkers;
const faults = { calls: new Map<string, number>(), commitThenThrowOnce: new Set<string>() };
/** Calls of cleanupOldRows that find the database unreachable (Decision 28). */
let unreachable = 0;
/** A queue no worker polls: a run started there stays open. */
const unserved = testQueues('housekeeping-unserved');
let openRun: { workflowId: string; runId: string };

beforeAll(async () => {
  h = await startApi();
  workers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: h.queues, documents: { ...DEFAULT_DOCUMENT_SETTINGS, evidenceMax: 0 },
    signalExtraction: { maxMessages: 3, maxChars: 5_000 },
    wrapActivities: (acts: Activities) => withActivityFaults(acts, faults, async (name) => {
      if (name === 'cleanupOldRows' && unreachable > 0) {
        unreachable--;
        throw ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
      }
    }),
  });
  const workflowId = uniqueId('housekeeping-open');
  const handle = await h.env.client.workflow.start('cleanupOldEvents', { workflowId, taskQueue: unserved.maintenance, args: [{}] });
  openRun = { workflowId, runId: handle.firstExecutionRunId };
  // Visibility is eventually consistent: the cleanup asks it which runs are open.
  await eventually(() => openCount(workflowId), (n) => n === 1);
});

afterAll(async () => {
  await h?.env.client.workflow.getHandle(openRun.workflowId).terminate('test over').catch(() => undefined);
  await workers?.stop();
  await h?.close();
});

const db = () => h.database.db;

/** Open runs of the id as visibility (which the cleanup asks) sees them. */
async function openCount(workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of h.env.client.workflow.list({ query: `WorkflowId = "${workflowId}" AND ExecutionStatus = "Running"` })) n++;
  return n;
}

const cleanup = (input: CleanupOldEventsInput = {}): Promise<CleanupOldEventsReport> =>
  h.env.client.workflow.execute<typeof cleanupOldEvents>('cleanupOldEvents', { workflowId: uniqueId('cleanup'), taskQueue: h.queues.maintenance, args: [input] });

const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);

async function event(type: string, o: { workflowId?: string | null; age: number; caseId?: string }): Promise<number> {
  const [row] = await db()
    .insert(events)
    .values({ type, userId: h.alice.id, caseId: o.caseId, workflowId: o.workflowId ?? null, payload: {}, idempotencyKey: uniqueId('key'), createdAt: daysAgo(o.age) })
    .returning({ id: events.id });
  return row!.id;
}

async function idempotencyKey(ageHours: number): Promise<string> {
  const key = uniqueId('idem');
  await db().insert(idempotencyKeys).values({ userId: h.alice.id, route: 'POST /v1/threads', key, requestHash: 'h', responseStatus: 201, responseBody: {}, createdAt: new Date(Date.now() - ageHours * 3_600_000) });
  return key;
}

async function progress(runId: string, workflowId: string, age: number): Promise<void> {
  await db().insert(runProgress).values([0, 1].map((seq) => ({ runId, workflowId, seq, payload: { step: 'x' }, createdAt: daysAgo(age) })));
}

const eventIds = async (ids: number[]) => (await db().select({ id: events.id }).from(events).where(inArray(events.id, ids))).map((r) => r.id).sort((a, b) => a - b);
const keysLeft = async (keys: string[]) => (await db().select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(inArray(idempotencyKeys.key, keys))).map((r) => r.key).sort();
const runsLeft = async (runIds: string[]) => [...new Set((await db().select({ runId: runProgress.runId }).from(runProgress).where(inArray(runProgress.runId, runIds))).map((r) => r.runId))].sort();

describe('cleanupOldEvents', () => {
  it('deletes exactly what is past its age and read by nobody, in batches; a dry run first deletes nothing; a second run nothing more', async () => {
    await cleanup(); // whatever earlier tests left is gone: the counts below are this test's
    const closedWorkflow = uniqueId('closed-workflow');
    const old = await event('STRUCTURE_SUGGESTED', { workflowId: closedWorkflow, age: 100 });
    const oldNoRun = await event('CONVERSATION_ANALYZED_FOR_AGENT', { age: 91 });
    const recent = await event('STRUCTURE_SUGGESTED', { workflowId: closedWorkflow, age: 89 });
    const audit = await event('RESEARCH_COMPLETED', { workflowId: closedWorkflow, age: 400 });
    const state = await event('SIGNALS_EXTRACTED', { workflowId: closedWorkflow, age: 400 });
    const ofOpenRun = await event('STRUCTURE_SUGGESTED', { workflowId: openRun.workflowId, age: 100 });
    const expired = await idempotencyKey(25);
    const live = await idempotencyKey(23);
    const closedRun = `run-${randomUUID()}`;
    const recentRun = `run-${randomUUID()}`;
    await progress(closedRun, closedWorkflow, 100);
    await progress(openRun.runId, openRun.workflowId, 100);
    await progress(recentRun, closedWorkflow, 10);
    const all = [old, oldNoRun, recent, audit, state, ofOpenRun].sort((a, b) => a - b);

    const dry = await cleanup({ dryRun: true, batchSize: 1 });
    expect(dry).toMatchObject({
      dryRun: true,
      events: { examined: 3, deleted: 2, keptOpen: 1 },
      idempotencyKeys: { examined: 1, deleted: 1 },
      runProgress: { examined: 2, deleted: 1, keptOpen: 1 },
    });
    expect(dry.events.keptByType).toMatchObject({ RESEARCH_COMPLETED: 1, SIGNALS_EXTRACTED: 1 });
    expect(await eventIds(all)).toEqual(all);
    expect(await keysLeft([expired, live])).toEqual([expired, live].sort());
    expect(await runsLeft([closedRun, openRun.runId, recentRun])).toEqual([closedRun, openRun.runId, recentRun].sort());

    const report = await cleanup({ batchSize: 2 });
    expect(report).toMatchObject({ dryRun: false, events: { deleted: 2, keptOpen: 1 }, idempotencyKeys: { deleted: 1 }, runProgress: { deleted: 1, keptOpen: 1 } });
    expect(report.events.batches).toBeGreaterThan(1);
    expect(new Date(report.cutoff).getTime()).toBeCloseTo(Date.now() - 90 * DAY_MS, -5);
    expect(await eventIds(all)).toEqual([recent, audit, state, ofOpenRun].sort((a, b) => a - b));
    expect(await keysLeft([expired, live])).toEqual([live]);
    expect(await runsLeft([closedRun, openRun.runId, recentRun])).toEqual([openRun.runId, recentRun].sort());

    const again = await cleanup({ batchSize: 2 });
    expect(again).toMatchObject({ events: { deleted: 0 }, idempotencyKeys: { deleted: 0 }, runProgress: { deleted: 0 } });

    // Each run left its report, a system event (no user) named by its job and run.
    const reports = await db().select().from(events).where(and(eq(events.type, 'MAINTENANCE_REPORT'), isNull(events.userId)));
    const byRun = reports.filter((e) => e.payload.job === 'events-cleanup');
    expect(byRun.length).toBeGreaterThanOrEqual(4);
    expect(byRun.some((e) => e.payload.dryRun === true && (e.payload.events as { deleted: number }).deleted === 2)).toBe(true);
  });

  it('holds through a database outage and then finishes', async () => {
    const old = await event('STRUCTURE_SUGGESTED', { age: 100 });
    faults.calls.set('cleanupOldRows', 0);
    unreachable = 2;
    const report = await cleanup({ outageHoldMs: 30_000 });
    expect(faults.calls.get('cleanupOldRows')).toBe(2 + 3);
    expect(report.events.deleted).toBeGreaterThanOrEqual(1);
    expect(await eventIds([old])).toEqual([]);
  });
});

describe('a retried cleanup attempt', () => {
  it('goes on after the cursor its last heartbeat carried, adding to its counts, and beats after each batch', async () => {
    await cleanup();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await event('STRUCTURE_SUGGESTED', { age: 100 }));
    const remove = createRetention({ db: db(), temporal: h.env.client, clock: () => new Date() });
    // The attempt before handled the first two and died: its last beat says so.
    const beats: unknown[] = [];
    const env = new MockActivityEnvironment({ heartbeatDetails: { after: ids[1], examined: 2, deleted: 2, keptOpen: 0, batches: 1 } });
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const report = await env.run(remove, { table: 'events' as const, dryRun: false, batchSize: 2 });
    expect(report).toMatchObject({ examined: 5, deleted: 5, keptOpen: 0, batches: 3 });
    expect(beats).toHaveLength(2);
    // The two the dead attempt reported are left alone (it deleted them: here they stand for that).
    expect(await eventIds(ids)).toEqual(ids.slice(0, 2));
  });
});

describe('after a cleanup, work run again duplicates nothing (Decision 33)', () => {
  /** Everything of the case and of these runs made old enough to go. */
  async function ageEverything(caseId: string, workflowIds: string[]) {
    await db().update(events).set({ createdAt: daysAgo(120) }).where(sql`${events.caseId} = ${caseId} or ${inArray(events.workflowId, workflowIds)}`);
    await db().update(runProgress).set({ createdAt: daysAgo(120) }).where(inArray(runProgress.workflowId, workflowIds));
  }

  it('an on-demand extraction run again counts no reference twice', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const texts = Array.from({ length: 6 }, (_, i) => `We assume rents rise by ${i + 1} percent next year. There is a risk the landlord sells.`);
    const content = texts.join('\n\n');
    const [doc] = await db().insert(documents).values({
      caseId, userId: h.alice.id, source: 'upload', title: `plan-${randomUUID()}.md`, contentType: 'text/markdown', contentHash: contentHash(content),
      content, extractedText: content, processingStatus: 'completed', chunkCount: texts.length,
    }).returning();
    await db().insert(chunks).values(texts.map((text, ordinal) => ({ documentId: doc!.id, caseId, ordinal, text, tokenCount: 20, embedding: [1, 0, 0] })));
    const source = { kind: 'document' as const, documentId: doc!.id };
    const input: ExtractSignalsInput = { caseId, userId: h.alice.id, correlationId: randomUUID(), source, queues: h.queues };
    const workflowId = extractionWorkflowId(source, doc!.contentHash);
    await startExtractSignals(h.env.client, input, workflowId, Date.now() + 10_000);
    const first: ExtractSignalsResult = await h.env.client.workflow.getHandle(workflowId).result();
    expect(first.batches).toBe(2);
    await eventually(() => openCount(workflowId), (n) => n === 0);
    const before = await db().select().from(signals).where(eq(signals.caseId, caseId));
    expect(before.length).toBeGreaterThan(0);

    await ageEverything(caseId, [workflowId]);
    await cleanup();

    // Temporal forgets a closed run past its namespace retention; then the same id runs again.
    const again: ExtractSignalsResult = await h.env.client.workflow.execute('extractSignalsWorkflow', {
      workflowId, taskQueue: h.queues.ingest, args: [input], workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    // Each batch found its event and answered what it recorded: nothing stored again.
    expect(again).toEqual(first);
    const after = await db().select().from(signals).where(eq(signals.caseId, caseId));
    expect(after.length).toBe(before.length);
    const refs = (rows: typeof before) => Object.fromEntries(rows.map((s) => [s.text, s.referenceCount]));
    expect(refs(after)).toEqual(refs(before));
  });

  it('a document processed again after a cleanup has its chunks once and one completion for its new run', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const o = { db: db(), client: h.env.client, queues: h.queues, caseId, userId: h.alice.id };
    const body = Array.from({ length: 8 }, (_, i) => `Paragraph ${i}: the bakery weighs its lease, its ovens and its staff.`).join('\n\n');
    const { documentId, workflowId } = await submitDocument(o, { title: `plan-${randomUUID()}.md`, contentType: 'text/markdown', content: body });
    expect((await settledDocument(db(), documentId)).processingStatus).toBe('completed');
    const chunksBefore = await chunksOf(db(), documentId);
    // The run closes after its document completed; the cleanup keeps the rows of a run visibility still shows open.
    await h.env.client.workflow.getHandle(workflowId).result();
    await eventually(() => openCount(workflowId), (n) => n === 0);

    await ageEverything(caseId, [workflowId]);
    const report = await cleanup();
    expect(report.events.deleted + report.runProgress.deleted).toBeGreaterThan(0);

    await reprocessDocument(o, documentId);
    await eventually(() => db().select().from(events).where(and(eq(events.documentId, documentId), eq(events.type, 'WORKFLOW_COMPLETED'))), (rows) => rows.length === 1);
    const done = await settledDocument(db(), documentId);
    expect(done.processingStatus).toBe('completed');
    expect((await chunksOf(db(), documentId)).map((c) => [c.ordinal, c.text])).toEqual(chunksBefore.map((c) => [c.ordinal, c.text]));
    expect(done.chunkCount).toBe(chunksBefore.length);
  });
});
