/**
 * The one sweeper (Decision 31): the redelivery job hands over again, besides chat messages,
 * documents and evidence committed but never started (a gateway that died between its commit
 * and its start), each kind in its own activity with its own report. A row whose run is open
 * is not started twice; a row whose hand-over fails is counted and its kind goes on; a kind
 * that fails as a whole does not stop the others.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documents, evidence } from '../../activities/db/schema/index.js';
import { startProcessDocument } from '../../activities/documents/start.js';
import { DEFAULT_DOCUMENT_SETTINGS } from '../../activities/documents/settings.js';
import { storeDocument } from '../../activities/documents/store.js';
import { startIngestEvidence } from '../../activities/evidence/start.js';
import { storeEvidence, type EvidenceSummary } from '../../activities/evidence/store.js';
import { storeUserMessage } from '../../api/chat-handoff.js';
import type { redeliverMessages } from '../../workflows/index.js';
import { workflowIds, type PendingKindReport, type RedeliveryReport } from '../../workflows/types.js';
import { eventually, seedThread, seedUser, waitForAnswer } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { startTestWorkers, type TestWorkerOptions } from '../helpers/stack.js';
import { connectTestEnv, testQueues, uniqueId } from '../helpers/temporal.js';

/** Short, so a test's rows count as old after a brief wait. */
const REDELIVERY_AFTER_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let env: TestWorkflowEnvironment;
let database: TestDatabase;
const queues = testQueues('redelivery-kinds');
/** Queues no worker polls: a run started there stays open, its row pending. */
const unserved = testQueues('redelivery-kinds-unserved');

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
});

afterAll(async () => {
  for await (const run of env.client.workflow.list({ query: `TaskQueue = "${unserved.ingest}" AND ExecutionStatus = "Running"` })) {
    await env.client.workflow.getHandle(run.workflowId).terminate('test over').catch(() => undefined);
  }
  await env?.teardown();
  await database?.drop();
});

async function withWorkers<T>(extra: Partial<TestWorkerOptions>, fn: () => Promise<T>): Promise<T> {
  // Documents processed here give no evidence of their own: the sweeps count only the rows each test made.
  const documents = { ...DEFAULT_DOCUMENT_SETTINGS, evidenceMax: 0 };
  const workers = await startTestWorkers({ env, db: database.db, queues, redeliveryAfterMs: REDELIVERY_AFTER_MS, documents, ...extra });
  try {
    return await fn();
  } finally {
    await workers.stop();
  }
}

const redeliver = (): Promise<RedeliveryReport> =>
  env.client.workflow.execute<typeof redeliverMessages>('redeliverMessages', { workflowId: uniqueId('redeliver-kinds'), taskQueue: queues.maintenance, args: [{ queues }] });

const report = (o: Partial<PendingKindReport>): PendingKindReport => ({ examined: 0, resent: 0, units: 0, failedUnits: 0, complete: true, ...o });

/** A case of a new user, and what a gateway that died between commit and start leaves in it. */
async function committedOnly() {
  const user = await seedUser(database.db);
  const caseId = await seedCase(database.db, user.id);
  const plan = Array.from({ length: 6 }, (_, i) => `Paragraph ${i}: the bakery weighs its lease and its ovens.`).join('\n\n');
  return {
    userId: user.id,
    caseId,
    document: async (title = `plan-${randomUUID()}.md`) =>
      (await storeDocument(database.db, { caseId, userId: user.id, source: 'upload', title, contentType: 'text/markdown', content: `# Plan\n\n${plan}` })).document,
    item: async (text = `Rents near the station are ${Math.floor(Math.random() * 1e6)} pounds a month.`) =>
      (await storeEvidence(database.db, { caseId, userId: user.id, text })).evidence,
  };
}

const documentStatus = async (id: string) => (await database.db.select().from(documents).where(eq(documents.id, id)))[0]?.processingStatus;
const itemStatus = async (id: string) => (await database.db.select().from(evidence).where(eq(evidence.id, id)))[0]?.status;
const itemRun = (item: EvidenceSummary) => workflowIds.evidence(item.caseId, item.contentHash);

async function runsOf(workflowId: string): Promise<string[]> {
  const runs = [];
  for await (const run of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(run.runId);
  return runs;
}

/** Signals a run received (signal-with-start records its signal too). */
async function signalsOf(workflowId: string): Promise<number> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

/** The env's client, except that a start of these workflow ids throws (as an ambiguous failure would, to the end). */
function failingStarts(client: Client, failing: Set<string>): Client {
  const workflow = new Proxy(client.workflow, {
    get(target, prop) {
      if (prop === 'start') {
        return (type: string, options: { workflowId: string }) =>
          failing.has(options.workflowId) ? Promise.reject(new Error('injected start failure')) : target.start(type, options as Parameters<typeof target.start>[1]);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'workflow') return workflow;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Ends runs left open on the unserved queues, and fails their rows, so later tests find nothing pending of them. */
async function settleUnserved(documentIds: string[], itemIds: string[]) {
  for await (const run of env.client.workflow.list({ query: `TaskQueue = "${unserved.ingest}" AND ExecutionStatus = "Running"` })) {
    await env.client.workflow.getHandle(run.workflowId).terminate('ended by the test').catch(() => undefined);
  }
  if (documentIds.length > 0) await database.db.update(documents).set({ processingStatus: 'failed' }).where(inArray(documents.id, documentIds));
  if (itemIds.length > 0) await database.db.update(evidence).set({ status: 'failed' }).where(inArray(evidence.id, itemIds));
}

describe('the redelivery job sweeps every kind', () => {
  it('starts a document and a piece of evidence committed but never started; both complete', async () => {
    const c = await committedOnly();
    const doc = await c.document();
    const item = await c.item();
    await sleep(REDELIVERY_AFTER_MS + 100);
    await withWorkers({}, async () => {
      expect(await redeliver()).toEqual({
        messages: report({}),
        documents: report({ examined: 1, resent: 1, units: 1 }),
        evidence: report({ examined: 1, resent: 1, units: 1 }),
        agentRuns: report({}),
      });
      await eventually(() => documentStatus(doc.id), (s) => s === 'completed', 30_000);
      await eventually(() => itemStatus(item.id), (s) => s === 'completed', 30_000);
      // Nothing is pending any more: the next run hands over nothing.
      expect(await redeliver()).toEqual({ messages: report({}), documents: report({}), evidence: report({}), agentRuns: report({}) });
    });
    expect(await runsOf(workflowIds.document(doc.id))).toHaveLength(1);
    expect(await runsOf(itemRun(item))).toHaveLength(1);
  });

  it('does not start twice a row whose run is open', async () => {
    const c = await committedOnly();
    const doc = await c.document();
    const item = await c.item();
    const docRun = await startProcessDocument(env.client, { documentId: doc.id, caseId: c.caseId, userId: c.userId, queues: unserved }, { deadline: Date.now() + 10_000 });
    const itemWorkflow = await startIngestEvidence(env.client, { evidenceId: item.id, caseId: c.caseId, userId: c.userId, queues: unserved }, {
      contentHash: item.contentHash, deadline: Date.now() + 10_000,
    });
    const { runId: itemRunId } = await env.client.workflow.getHandle(itemWorkflow).describe();
    await sleep(REDELIVERY_AFTER_MS + 100);
    try {
      await withWorkers({}, async () => {
        const swept = await redeliver();
        // The document's open run is left to take it; the item's start joins its open run.
        expect({ documents: swept.documents, evidence: swept.evidence }).toEqual({
          documents: report({ examined: 1, resent: 0, units: 1 }),
          evidence: report({ examined: 1, resent: 1, units: 1 }),
        });
      });
      expect(await signalsOf(docRun)).toBe(1);
      expect(await runsOf(docRun)).toHaveLength(1);
      expect((await env.client.workflow.getHandle(itemWorkflow).describe()).runId).toBe(itemRunId);
      expect(await runsOf(itemWorkflow)).toHaveLength(1);
      expect([await documentStatus(doc.id), await itemStatus(item.id)]).toEqual(['pending', 'pending']);
    } finally {
      await settleUnserved([doc.id], [item.id]);
    }
  });

  it('a row whose hand-over fails is counted and its kind goes on; a kind that fails does not stop the others', async () => {
    const c = await committedOnly();
    const doc = await c.document();
    const [good, bad] = [await c.item(), await c.item()];
    const thread = await seedThread(database.db, c.userId);
    const { message } = await storeUserMessage(database.db, c.userId, thread.id, 'Stored, and never signalled.');
    await sleep(REDELIVERY_AFTER_MS + 100);
    const brokenDocuments = (acts: Parameters<NonNullable<TestWorkerOptions['wrapActivities']>>[0]) => ({
      ...acts,
      redeliverPending: (req: Parameters<typeof acts.redeliverPending>[0]) =>
        req.kind === 'documents' ? Promise.reject(ApplicationFailure.nonRetryable('injected: the documents pass broke', 'DatabaseError')) : acts.redeliverPending(req),
    });
    const temporal = failingStarts(env.client, new Set([itemRun(bad)]));
    await withWorkers({ wrapActivities: brokenDocuments, temporal }, async () => {
      expect(await redeliver()).toEqual({
        messages: report({ examined: 1, resent: 1, units: 1 }),
        documents: report({ complete: false, error: 'injected: the documents pass broke' }),
        evidence: report({ examined: 1, resent: 1, units: 1, failedUnits: 1 }),
        agentRuns: report({}),
      });
      await waitForAnswer(database.db, thread.id, message.id);
      await eventually(() => itemStatus(good.id), (s) => s === 'completed', 30_000);
    });
    expect([await documentStatus(doc.id), await itemStatus(bad.id)]).toEqual(['pending', 'pending']);
    // The next run, with nothing broken, hands over what was left.
    await withWorkers({}, async () => {
      expect(await redeliver()).toEqual({
        messages: report({}),
        documents: report({ examined: 1, resent: 1, units: 1 }),
        evidence: report({ examined: 1, resent: 1, units: 1 }),
        agentRuns: report({}),
      });
      await eventually(() => documentStatus(doc.id), (s) => s === 'completed', 30_000);
      await eventually(() => itemStatus(bad.id), (s) => s === 'completed', 30_000);
    });
  });
});
