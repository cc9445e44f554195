/**
 * Signals extracted on demand (extractSignalsWorkflow, POST /v1/cases/:caseId/signals/extract):
 * a document's chunks in bounded batches (3 chunks a call here), its signals the case's; chosen
 * user messages of a thread of the case, their signals the thread's; every batch stored once,
 * so a retried batch or a new run after a failed one counts no reference twice; embeddings
 * started for what was created; continue-as-new carrying the totals; the route's refusals.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunks, documents, events, messages, signals, type SignalRow } from '../../activities/db/schema/index.js';
import { contentHash } from '../../activities/documents/store.js';
import type { Activities } from '../../activities/index.js';
import { extractionWorkflowId, startExtractSignals } from '../../activities/signal-extraction.js';
import type { ExtractSignalsInput, ExtractSignalsResult } from '../../workflows/types.js';
import { call, createThread, insertCase, startApi, type ApiHarness } from '../api/harness.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { eventually } from '../helpers/chat.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';

const CHUNKS = 10;
const BOUNDS = { maxMessages: 3, maxChars: 5_000 };
/** Said in every chunk: once per batch (the extractor reads a batch as one text), so a reference per batch. */
const REPEATED = 'There is a risk the landlord sells the building.';

let h: ApiHarness;
let workers: RunningWorkers;
const faults = { calls: new Map<string, number>(), commitThenThrowOnce: new Set<string>() };
/** Batches (by their `after`) that fail for good once. */
const failOnce = new Set<number>();
/** Calls of extractSignalBatch that find the database unreachable (Decision 28). */
let unreachable = 0;

beforeAll(async () => {
  h = await startApi();
  workers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: h.queues, signalExtraction: BOUNDS,
    wrapActivities: (acts: Activities) => withActivityFaults(acts, faults, async (name, args) => {
      const after = (args[0] as { after?: number }).after;
      if (name === 'extractSignalBatch' && after !== undefined && failOnce.delete(after)) {
        throw ApplicationFailure.nonRetryable('the extraction model was withdrawn', 'LlmAuthError');
      }
      if (name === 'extractSignalBatch' && unreachable > 0) {
        unreachable--;
        throw ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
      }
    }),
  });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

const db = () => h.database.db;

/** A completed document of the case with CHUNKS chunks, each an assumption of its own and the repeated risk. */
async function chunkedDocument(caseId: string, userId = h.alice.id): Promise<{ id: string; contentHash: string }> {
  const texts = Array.from({ length: CHUNKS }, (_, i) => `We assume rents rise by ${i + 1} percent next year. ${REPEATED}`);
  const content = texts.join('\n\n');
  const [doc] = await db()
    .insert(documents)
    .values({
      caseId, userId, source: 'upload', title: `plan-${randomUUID()}.md`, contentType: 'text/markdown', contentHash: contentHash(content),
      content, extractedText: content, processingStatus: 'completed', chunkCount: CHUNKS,
    })
    .returning();
  await db().insert(chunks).values(texts.map((text, ordinal) => ({ documentId: doc!.id, caseId, ordinal, text, tokenCount: 20, embedding: [1, 0, 0] })));
  return { id: doc!.id, contentHash: doc!.contentHash };
}

const caseSignals = (caseId: string) => db().select().from(signals).where(and(eq(signals.caseId, caseId), isNull(signals.threadId)));
const extractionEvents = (workflowId: string) =>
  db().select().from(events).where(eq(events.type, 'SIGNALS_EXTRACTED')).then((rows) => rows.filter((e) => e.idempotencyKey.startsWith(`signals-extracted:${workflowId}:`)));
const references = (rows: SignalRow[]) => Object.fromEntries(rows.map((s) => [s.text, s.referenceCount]));

const extract = (caseId: string, payload: object) => call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/signals/extract`, payload });

describe('a document', () => {
  it('is read in bounded batches; its signals are the case\'s, each batch counted once, and embedded', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const doc = await chunkedDocument(caseId);
    const res = await extract(caseId, { documentId: doc.id });
    expect(res.statusCode, res.body).toBe(202);
    const { workflowId } = res.json();
    expect(workflowId).toBe(extractionWorkflowId({ kind: 'document', documentId: doc.id }, doc.contentHash));
    expect(workflowId).toMatch(new RegExp(`^extract-signals-${doc.id}-[0-9a-f]{16}$`));
    const result: ExtractSignalsResult = await h.env.client.workflow.getHandle(workflowId).result();
    expect(result).toEqual({ batches: Math.ceil(CHUNKS / BOUNDS.maxMessages), created: CHUNKS + 1, skipped: 0 });
    const found = await caseSignals(caseId);
    expect(found).toHaveLength(CHUNKS + 1);
    expect(references(found)[REPEATED]).toBe(result.batches);
    expect((await extractionEvents(workflowId)).map((e) => e.documentId)).toEqual(Array(result.batches).fill(doc.id));
    await eventually(() => caseSignals(caseId), (rows) => rows.every((s) => s.embedding !== null));

    // The same request again: the completed run is the answer, and nothing is read again.
    const again = await extract(caseId, { documentId: doc.id });
    expect([again.statusCode, again.json().workflowId]).toEqual([202, workflowId]);
    expect(await extractionEvents(workflowId)).toHaveLength(result.batches);
    expect(references(await caseSignals(caseId))[REPEATED]).toBe(result.batches);
  });

  it('counts no reference twice: a batch retried after its commit, and a new run after a failed one', async () => {
    // The clean run, on a twin case, is the measure.
    const twinCase = await insertCase(h.database, h.alice.id);
    const twin = await chunkedDocument(twinCase);
    const clean: ExtractSignalsResult = await h.env.client.workflow.getHandle((await extract(twinCase, { documentId: twin.id })).json().workflowId).result();

    const caseId = await insertCase(h.database, h.alice.id);
    const doc = await chunkedDocument(caseId);
    // The first batch commits and its worker "dies" before reporting; the third fails the run.
    faults.commitThenThrowOnce.add('extractSignalBatch');
    failOnce.add(5);
    const { workflowId } = (await extract(caseId, { documentId: doc.id })).json();
    await expect(h.env.client.workflow.getHandle(workflowId).result()).rejects.toThrow();
    expect(await extractionEvents(workflowId)).toHaveLength(2);

    const again = await extract(caseId, { documentId: doc.id });
    expect(again.json().workflowId).toBe(workflowId);
    const result: ExtractSignalsResult = await eventually(
      () => h.env.client.workflow.getHandle(workflowId).result().catch(() => null),
      (r) => r !== null,
    );
    expect(result).toEqual(clean);
    expect(await extractionEvents(workflowId)).toHaveLength(clean.batches);
    expect(references(await caseSignals(caseId))).toEqual(references(await caseSignals(twinCase)));
  });

  it('continues as new every few batches, carrying where it stopped and its totals', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const doc = await chunkedDocument(caseId);
    const source = { kind: 'document' as const, documentId: doc.id };
    const input: ExtractSignalsInput = { caseId, userId: h.alice.id, correlationId: randomUUID(), source, queues: h.queues, batchesPerRun: 2 };
    const workflowId = await startExtractSignals(h.env.client, input, extractionWorkflowId(source, doc.contentHash), Date.now() + 10_000);
    const result: ExtractSignalsResult = await h.env.client.workflow.getHandle(workflowId).result();
    expect(result).toEqual({ batches: 4, created: CHUNKS + 1, skipped: 0 });
    const runs = [];
    for await (const run of h.env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(run.runId);
    expect(runs.length).toBe(3);
  });
});

describe('a database outage', () => {
  it('is held, not spent as a batch\'s attempts', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const doc = await chunkedDocument(caseId);
    unreachable = 4;
    const { workflowId } = (await extract(caseId, { documentId: doc.id })).json();
    const result: ExtractSignalsResult = await h.env.client.workflow.getHandle(workflowId).result();
    expect(result).toEqual({ batches: Math.ceil(CHUNKS / BOUNDS.maxMessages), created: CHUNKS + 1, skipped: 0 });
    expect(unreachable).toBe(0);
  });
});

describe('messages', () => {
  it('of a thread of the case: the user messages named, their signals the thread\'s', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const threadId = (await createThread(h.app, h.alice, { caseId })).id;
    const said = ['Our goal is to open in spring.', 'We assume the ovens arrive in March.', 'Nothing to see here.', 'The budget must stay under 150k.', 'Not this one: the goal is to skip it.'];
    const rows = await db().insert(messages).values(said.map((content) => ({ threadId, role: 'user' as const, content, status: 'complete' as const }))).returning();
    const chosen = rows.slice(0, 4).map((r) => r.id);
    const res = await extract(caseId, { messageIds: [...chosen].reverse() });
    expect(res.statusCode, res.body).toBe(202);
    const { workflowId } = res.json();
    expect(workflowId).toBe(extractionWorkflowId({ kind: 'messages', threadId, messageIds: chosen }));
    const result: ExtractSignalsResult = await h.env.client.workflow.getHandle(workflowId).result();
    expect(result).toEqual({ batches: 2, created: 3, skipped: 0 });
    const found = await db().select().from(signals).where(eq(signals.threadId, threadId));
    expect(found.map((s) => [s.type, s.caseId]).sort()).toEqual([['assumption', caseId], ['constraint', caseId], ['goal', caseId]]);
  });
});

describe('the route', () => {
  it('refuses what it cannot extract from, and starts nothing', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const otherCase = await insertCase(h.database, h.alice.id);
    const doc = await chunkedDocument(caseId);
    const elsewhere = await chunkedDocument(otherCase);
    const [pending] = await db().insert(documents).values({
      caseId, userId: h.alice.id, source: 'upload', title: 'pending.md', contentType: 'text/markdown', contentHash: contentHash('x'), content: 'x',
    }).returning();
    const bobsCase = await insertCase(h.database, h.bob.id);
    const bobs = await chunkedDocument(bobsCase, h.bob.id);
    const thread = (await createThread(h.app, h.alice, { caseId })).id;
    const otherThread = (await createThread(h.app, h.alice, { caseId })).id;
    const caseless = (await createThread(h.app, h.alice)).id;
    const [mine, another, reply, loose] = await db().insert(messages).values([
      { threadId: thread, role: 'user' as const, content: 'Our goal is speed.', status: 'complete' as const },
      { threadId: otherThread, role: 'user' as const, content: 'We must hurry.', status: 'complete' as const },
      { threadId: thread, role: 'assistant' as const, content: 'Noted.', status: 'complete' as const },
      { threadId: caseless, role: 'user' as const, content: 'We assume so.', status: 'complete' as const },
    ]).returning();
    const cases: [object, number, string?][] = [
      [{}, 400, 'body'],
      [{ documentId: doc.id, messageIds: [mine!.id] }, 400, 'body'],
      [{ documentId: elsewhere.id }, 400, 'documentId'],
      [{ documentId: pending!.id }, 409],
      [{ documentId: bobs.id }, 404],
      [{ documentId: randomUUID() }, 404],
      [{ messageIds: [mine!.id, another!.id] }, 400, 'messageIds'],
      [{ messageIds: [reply!.id] }, 400, 'messageIds'],
      [{ messageIds: [loose!.id] }, 400, 'messageIds'],
      [{ messageIds: [mine!.id, randomUUID()] }, 404],
      [{ messageIds: [] }, 400, 'messageIds'],
      [{ messageIds: [mine!.id, mine!.id] }, 400, 'messageIds'],
    ];
    for (const [payload, status, field] of cases) {
      const res = await extract(caseId, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      if (field) expect(res.json().field ?? res.json().message, JSON.stringify(payload)).toContain(field);
    }
    expect((await extract(bobsCase, { documentId: bobs.id })).statusCode).toBe(404);
    const started = [];
    for await (const run of h.env.client.workflow.list({ query: `WorkflowType = "extractSignalsWorkflow" AND CaseId = "${caseId}"` })) started.push(run.workflowId);
    expect(started).toEqual([]);
  });
});
