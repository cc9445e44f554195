/**
 * ingestEvidence end to end on the file's own database and queues (issue 17), with the
 * `local` rules: scores, links to the case's signals (a joined thread's included), a
 * contradiction between two items recorded once, EVIDENCE_ADDED with retrieval metadata and
 * every call metered; the brief and running conversations told; every failure path ends
 * `failed` with a reason; a retry after a commit duplicates nothing; a database outage is held.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq, inArray, or } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachThreadRow } from '../../activities/cases/attach.js';
import { contradictions, evidence, evidenceSignalLinks, events, signals, threads, tokenLedger } from '../../activities/db/schema/index.js';
import { startIngestEvidence } from '../../activities/evidence/start.js';
import { storeEvidence } from '../../activities/evidence/store.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import type { ingestEvidence } from '../../workflows/index.js';
import type { IngestEvidenceInput } from '../../workflows/types.js';
import { workflowIds } from '../../workflows/types.js';
import { withActivityFaults, type ActivityFaults } from '../helpers/activity-faults.js';
import { activityRecords } from '../helpers/activity-history.js';
import { seedThread, seedUser, sendMessage } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { hashEmbedding } from '../../activities/llm/local-embedder.js';
import { seedSignal } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let client: Client;
const queues = testQueues('evidence');
const faults: ActivityFaults = { calls: new Map(), commitThenThrowOnce: new Set() };
/** Database outages to inject before the analysis: how many calls still fail. */
let outages = 0;
/** ... and before the tell. */
let tellOutages = 0;
/** Scoring calls by text, to see what a retry repeats. */
const scoringCalls = new Map<string, number>();
const toClose: string[] = [];

/** The local rules, except for items that ask to fail (BROKEN), to fail once (FLAKY) or to hang until cancelled (SLOW). */
function scriptedLlm(): Llm {
  const local = createLocalLlm();
  return {
    ...local,
    async scoreEvidence(input, call) {
      const seen = (scoringCalls.get(input.text) ?? 0) + 1;
      scoringCalls.set(input.text, seen);
      if (input.text.includes('BROKEN')) throw ApplicationFailure.nonRetryable('the model refused this one', 'LlmBadRequest');
      if (input.text.includes('FLAKY') && seen === 1) throw ApplicationFailure.retryable('the model is overloaded', 'LlmTransient');
      if (input.text.includes('SLOW')) await new Promise((_, reject) => call?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      return local.scoreEvidence(input, call);
    },
  };
}

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  client = env.client;
  workers = await startTestWorkers({
    env, db: database.db, queues, llm: scriptedLlm(),
    wrapActivities: (acts) =>
      withActivityFaults(acts, faults, async (name) => {
        if (name === 'analyseEvidence' && outages > 0) {
          outages--;
          throw ApplicationFailure.create({ type: 'DatabaseUnavailable', message: 'the database is unreachable (ECONNREFUSED)' });
        }
        if (name === 'tellEvidenceAdded' && tellOutages > 0) {
          tellOutages--;
          throw ApplicationFailure.create({ type: 'DatabaseUnavailable', message: 'the database is unreachable (ECONNREFUSED)' });
        }
      }),
  });
});

afterAll(async () => {
  await workers?.stop();
  for (const id of toClose) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await env?.teardown();
  await database?.drop();
});

async function newCase() {
  const userId = (await seedUser(database.db)).id;
  const caseId = await seedCase(database.db, userId, 'A second bakery in Leeds');
  toClose.push(workflowIds.evolveBrief(caseId));
  return { userId, caseId };
}

/** Stores the item and starts its run, as the gateway does. */
async function submit(c: { userId: string; caseId: string }, text: string, overrides?: Pick<IngestEvidenceInput, 'timeLimitMs' | 'outageHoldMs'>) {
  const { evidence: item } = await storeEvidence(database.db, { ...c, text });
  const input: IngestEvidenceInput = { evidenceId: item.id, caseId: c.caseId, userId: c.userId, correlationId: randomUUID(), queues };
  const workflowId = await startIngestEvidence(client, input, { contentHash: item.contentHash, deadline: Date.now() + 10_000, overrides });
  return { item, workflowId, handle: client.workflow.getHandle<typeof ingestEvidence>(workflowId) };
}

const row = async (id: string) => (await database.db.select().from(evidence).where(eq(evidence.id, id)))[0]!;
const linksOf = (id: string) => database.db.select().from(evidenceSignalLinks).where(eq(evidenceSignalLinks.evidenceId, id));
const eventsOf = (id: string) => database.db.select().from(events).where(eq(events.idempotencyKey, `evidence-added:${id}`));
const contradictionsOf = (id: string) => database.db.select().from(contradictions).where(or(eq(contradictions.leftId, id), eq(contradictions.rightId, id)));

/** The worker's embedder: test/helpers/stack.ts's local one, at 64 dimensions. */
const DIMENSIONS = 64;
const signalOf = (o: Parameters<typeof seedSignal>[1], text: string) => seedSignal(database.db, o, text, hashEmbedding(text, DIMENSIONS));

const RENT_2000 = 'We assume rents near the station are about 2000 pounds a month.';
const RENT_3500 = 'Rents near the station are 3500 pounds a month, the letting agent wrote.';

describe('ingestEvidence: the pipeline', () => {
  it("scores the item, links it to the case's signals (a joined thread's too), records EVIDENCE_ADDED and meters every call", async () => {
    const c = await newCase();
    // A thread with signals joins the case: its signals get the case id (Decision 22).
    const thread = await seedThread(database.db, c.userId);
    const rent = await signalOf({ caseId: null, threadId: thread.id }, RENT_2000);
    const lease = await signalOf({ caseId: null, threadId: thread.id }, 'The landlord will renew the lease for five years.');
    // Not embedded yet: found by its words, if at all.
    const goal = await seedSignal(database.db, { caseId: c.caseId, type: 'goal' }, 'Our goal is to open a second bakery in Leeds next spring.', null);
    await database.db.transaction((tx) => attachThreadRow(tx, { userId: c.userId, threadId: thread.id, caseId: c.caseId }));
    const { item, workflowId, handle } = await submit(c, `${RENT_3500} The landlord will renew the lease, the letter says.`);
    expect(await handle.result()).toEqual({ evidenceId: item.id, links: 2, contradictions: 1 });
    const done = await row(item.id);
    expect(done).toMatchObject({ status: 'completed', error: null });
    expect(done.relevance).toBeGreaterThan(0.5);
    expect(done.credibility).toBeGreaterThan(0);
    expect(done.embedding).toHaveLength(DIMENSIONS);
    const links = Object.fromEntries((await linksOf(item.id)).map((l) => [l.signalId, l]));
    expect(Object.keys(links).sort()).toEqual([rent, lease].sort());
    expect(links[rent]).toMatchObject({ relation: 'contradicts', caseId: c.caseId, reasoning: expect.stringContaining('3500 against 2000') });
    expect(links[lease]).toMatchObject({ relation: 'supports' });
    expect(links[goal]).toBeUndefined();
    // Linked is referenced (what keeps a signal hot, issue 18); the unlinked one is not.
    const referenced = await database.db.select({ id: signals.id, at: signals.lastReferencedAt }).from(signals).where(inArray(signals.id, [rent, lease, goal]));
    expect(Object.fromEntries(referenced.map((r) => [r.id, r.at !== null]))).toEqual({ [rent]: true, [lease]: true, [goal]: false });
    // The rent signal conflicts with the item: one contradiction, evidence on the left.
    expect(await contradictionsOf(item.id)).toEqual([
      expect.objectContaining({ caseId: c.caseId, leftKind: 'evidence', leftId: item.id, rightKind: 'signal', rightId: rent, reason: expect.stringMatching(/^number-mismatch/) }),
    ]);
    const [event] = await eventsOf(item.id);
    expect(event).toMatchObject({ type: 'EVIDENCE_ADDED', caseId: c.caseId, userId: c.userId, workflowId });
    expect(event!.payload).toMatchObject({
      evidenceId: item.id,
      provider: 'local',
      links: 2,
      contradictions: 1,
      linked: expect.arrayContaining([{ signalId: rent, relation: 'contradicts', score: expect.any(Number) }]),
      contradicted: [{ kind: 'signal', id: rent, score: expect.any(Number) }],
      retrieval: {
        query: expect.stringContaining('rent or near or station'),
        signals: expect.arrayContaining([
          { kind: 'signal', id: rent, relation: 'contradicts', fused: expect.any(Number), fullText: expect.any(Number), cosine: expect.any(Number) },
          expect.objectContaining({ kind: 'signal', id: lease, relation: 'supports' }),
        ]),
        related: expect.arrayContaining([expect.objectContaining({ kind: 'signal', id: rent })]),
      },
    });
    const ledger = await database.db.select().from(tokenLedger).where(eq(tokenLedger.workflowId, workflowId));
    expect(ledger.map((l) => l.purpose).sort()).toEqual(['contradiction', 'embedding', 'evidence-link', 'evidence-scoring']);
    expect(ledger.every((l) => l.userId === c.userId)).toBe(true);
  });

  it('two conflicting items ingested at once: one contradiction, recorded once', async () => {
    const c = await newCase();
    const a = await storeEvidence(database.db, { ...c, text: 'The landlord will sell the bakery building this year.' });
    const b = await storeEvidence(database.db, { ...c, text: 'The landlord will not sell the bakery building, his agent says.' });
    const runs = await Promise.all([a, b].map(async ({ evidence: item }) => {
      const input: IngestEvidenceInput = { evidenceId: item.id, caseId: c.caseId, userId: c.userId, queues };
      const id = await startIngestEvidence(client, input, { contentHash: item.contentHash, deadline: Date.now() + 10_000 });
      return client.workflow.getHandle<typeof ingestEvidence>(id).result();
    }));
    expect(runs.map((r) => r.contradictions).reduce((x, y) => x + y)).toBeGreaterThanOrEqual(1);
    const pairs = await database.db.select().from(contradictions).where(eq(contradictions.caseId, c.caseId));
    const [left, right] = [a.evidence.id, b.evidence.id].sort();
    expect(pairs).toEqual([expect.objectContaining({ leftKind: 'evidence', leftId: left, rightKind: 'evidence', rightId: right, reason: expect.stringMatching(/^negation/) })]);
  });

  it('tells the brief, and the running conversations of the case only', async () => {
    const c = await newCase();
    const talking = await seedThread(database.db, c.userId);
    const quiet = await seedThread(database.db, c.userId);
    await database.db.update(threads).set({ caseId: c.caseId }).where(or(eq(threads.id, talking.id), eq(threads.id, quiet.id)));
    await sendMessage({ db: database.db, client, queues, threadId: talking.id, userId: c.userId }, 'Hello there.');
    toClose.push(workflowIds.conversation(talking.id));
    const { item, handle } = await submit(c, 'Flour prices rose by 12 percent last year.');
    await handle.result();
    const signalled = async (workflowId: string) => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      return history.events!.flatMap((e) => (e.workflowExecutionSignaledEventAttributes ? [e.workflowExecutionSignaledEventAttributes.signalName] : []));
    };
    // A signal that arrives during a workflow task joins the history when the task completes.
    await expect.poll(() => signalled(workflowIds.evolveBrief(c.caseId)), { timeout: 15_000 }).toContain('briefChanged');
    await expect.poll(() => signalled(workflowIds.conversation(talking.id)), { timeout: 15_000 }).toContain('evidenceAdded');
    // No open run: nothing is started.
    await expect(client.workflow.getHandle(workflowIds.conversation(quiet.id)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect((await row(item.id)).status).toBe('completed');
  });

  it('a completed item is not ingested again by a repeated start', async () => {
    const c = await newCase();
    const first = await submit(c, 'The oven supplier offers a 3 year warranty.');
    await first.handle.result();
    const runId = (await first.handle.describe()).runId;
    const again = await submit(c, 'The oven supplier offers a 3 year warranty.');
    expect(again.workflowId).toBe(first.workflowId);
    expect((await first.handle.describe()).runId).toBe(runId);
    expect(await eventsOf(first.item.id)).toHaveLength(1);
  });
});

describe('ingestEvidence: every failure path ends failed with a reason', () => {
  async function expectFailed(text: string, reason: string | RegExp, overrides?: Pick<IngestEvidenceInput, 'timeLimitMs'>) {
    const c = await newCase();
    const { item, handle } = await submit(c, text, overrides);
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failed = await row(item.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(reason);
    expect(await eventsOf(item.id)).toEqual([]);
    expect(await linksOf(item.id)).toEqual([]);
    return { err: err as WorkflowFailedError, item, c };
  }

  it('a model that refuses: at once (not retried), named by its stage; submitted again, it starts again', async () => {
    const text = `This one is BROKEN ${randomUUID()}.`;
    const { err, item, c } = await expectFailed(text, 'scoring failed: the model refused this one');
    expect(err.cause).toMatchObject({ type: 'LlmBadRequest' });
    expect(scoringCalls.get(text)).toBe(1);
    // Decision 31: a failed item submitted again is pending again, and a new run takes it.
    const again = await storeEvidence(database.db, { ...c, text });
    expect(again).toMatchObject({ restarted: true, evidence: { id: item.id, status: 'pending' } });
    const workflowId = await startIngestEvidence(client, { evidenceId: item.id, caseId: c.caseId, userId: c.userId, queues }, { contentHash: item.contentHash, deadline: Date.now() + 10_000 });
    await expect(client.workflow.getHandle(workflowId).result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(scoringCalls.get(text)).toBe(2);
  });

  it('the time limit (timeLimitMs), with the analysis in flight', async () => {
    const { err } = await expectFailed('This one is SLOW forever.', 'stopped: the time limit of 1.5 s was reached', { timeLimitMs: 1_500 });
    expect(err.cause).toMatchObject({ type: 'TimeLimitExceeded' });
  });

  it('a cancellation of the run', async () => {
    const c = await newCase();
    const { item, handle } = await submit(c, `Cancel me, SLOW ${randomUUID()}.`);
    await expect.poll(async () => (await row(item.id)).status, { timeout: 15_000 }).toBe('processing');
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(await row(item.id)).toMatchObject({ status: 'failed', error: 'cancelled' });
  });
});

describe('ingestEvidence: retries', () => {
  it('an analysis that commits and then fails is retried without a duplicate; a transient model error is retried', async () => {
    const c = await newCase();
    await signalOf({ caseId: c.caseId }, RENT_2000);
    const committed = `${RENT_3500} ${randomUUID()}`;
    faults.commitThenThrowOnce.add('analyseEvidence');
    const first = await submit(c, committed);
    const flaky = await submit(c, `The FLAKY market report says rents doubled. ${randomUUID()}`);
    const [result, flakyResult] = await Promise.all([first.handle.result(), flaky.handle.result()]);
    // The retry found the committed record: no model call, no second event, link or contradiction.
    expect(result).toEqual({ evidenceId: first.item.id, links: 1, contradictions: 1 });
    expect(scoringCalls.get(committed.slice(0, 8_000))).toBe(1);
    expect(await eventsOf(first.item.id)).toHaveLength(1);
    expect(await linksOf(first.item.id)).toHaveLength(1);
    expect(await contradictionsOf(first.item.id)).toHaveLength(1);
    const ledger = await database.db.select().from(tokenLedger).where(eq(tokenLedger.workflowId, first.workflowId));
    expect(new Set(ledger.map((l) => l.attempt))).toEqual(new Set([1]));
    expect(flakyResult.evidenceId).toBe(flaky.item.id);
    expect((await row(flaky.item.id)).status).toBe('completed');
    const flakyLedger = await database.db.select().from(tokenLedger).where(and(eq(tokenLedger.workflowId, flaky.workflowId), eq(tokenLedger.purpose, 'evidence-scoring')));
    expect(flakyLedger.map((l) => l.attempt).sort()).toEqual([2]);
  }, 60_000);

  it('a tell that meets an unreachable database is retried: a failed attempt of its own policy, not the analysis’s', async () => {
    const c = await newCase();
    tellOutages = 1;
    const { handle, workflowId } = await submit(c, `Told after an outage ${randomUUID()}.`);
    await handle.result();
    expect(tellOutages).toBe(0);
    const tell = (await activityRecords(client, workflowId)).find((a) => a.type === 'tellEvidenceAdded');
    // Its own policy: 10 s heartbeats (it beats), retried after 10 s like any failed attempt.
    expect(tell).toMatchObject({ outcome: 'completed', attempt: 2, heartbeatMs: 10_000, startToCloseMs: 60_000 });
    const history = await client.workflow.getHandle(workflowIds.evolveBrief(c.caseId)).fetchHistory();
    expect(history.events!.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'briefChanged')).toBe(true);
  }, 60_000);

  it('holds through a database outage instead of spending attempts', async () => {
    const c = await newCase();
    outages = 3;
    const { item, handle } = await submit(c, `Held through an outage ${randomUUID()}.`, { outageHoldMs: 30_000 });
    await handle.result();
    expect(outages).toBe(0);
    expect((await row(item.id)).status).toBe('completed');
  }, 60_000);
});
