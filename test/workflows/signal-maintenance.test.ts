/**
 * Signal maintenance (issue 18) on the dev server: one scope's consolidation (merge into the
 * highest-confidence signal with its links, decay from the base to the nominal date, archive
 * below 0.3, embedding first), the same date again changes nothing, a dry run writes nothing;
 * the fan-out selects exactly the qualifying scopes, continues as new, counts an id already
 * running; temperatures; the report event; a re-mention of a merged or archived signal.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, messages, signals } from '../../activities/db/schema/index.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { createSignalExtractionActivities } from '../../activities/signal-extraction.js';
import type { Activities } from '../../activities/index.js';
import { consolidateScope } from '../../activities/maintenance/consolidation.js';
import { DAY_MS } from '../../activities/maintenance/signal-maths.js';
import { creditSurvivors, mentionedAgain, mentionReturning } from '../../activities/signal-mentions.js';
import { SIGNAL_MAINTENANCE_DEFAULTS } from '../../workers/config.js';
import { nominalDateOf } from '../../workflows/maintenance/nominal-date.js';
import {
  workflowIds,
  type ConsolidateThreadSignalsInput,
  type MaintenanceReport,
  type QueueNames,
  type ScheduleSignalConsolidationInput,
  type ScopeConsolidation,
  type SignalScope,
} from '../../workflows/types.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  ABOVE_09,
  AT_09,
  AXIS,
  seedCase,
  seedEvidence,
  seedLink,
  seedScopeThread,
  seedSignals,
  signalById,
  snapshot,
  vector,
} from '../helpers/signal-maintenance.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { connectTestEnv, testQueues, uniqueId } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let queues: QueueNames;
const faults = { calls: new Map<string, number>(), commitThenThrowOnce: new Set<string>() };
/** Calls of consolidateSignalScope, by scope id, that find the database unreachable (Decision 28). */
const unreachable = new Map<string, number>();
const db = () => database.db;

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  queues = testQueues('signal-maintenance');
  // Batches of 2: a scope's merges and decay are several transactions.
  workers = await startTestWorkers({
    env, db: database.db, queues, signalMaintenance: { ...SIGNAL_MAINTENANCE_DEFAULTS, batchSize: 2 },
    wrapActivities: (acts: Activities) => withActivityFaults(acts, faults, async (name, args) => {
      const scope = (args[0] as { scope?: SignalScope }).scope;
      if (name === 'consolidateSignalScope' && scope && (unreachable.get(scope.id) ?? 0) > 0) {
        unreachable.set(scope.id, unreachable.get(scope.id)! - 1);
        throw ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
      }
    }),
  });
});

/** The test database, with `race` run by another connection before each of the consolidation's guarded writes (its statement locks `for update`). */
function racingWrites(race: () => Promise<void>): typeof database.db {
  const client = db().$client;
  const racingClient = new Proxy(client, {
    get(target, key) {
      if (key !== 'unsafe') return Reflect.get(target, key) as unknown;
      return async (text: string, ...rest: unknown[]) => {
        if (text.includes('for update')) await race();
        return (target.unsafe as (...args: unknown[]) => unknown)(text, ...rest);
      };
    },
  });
  return new Proxy(db(), { get: (target, key) => (key === '$client' ? racingClient : Reflect.get(target, key)) as unknown });
}

afterAll(async () => {
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

const NOMINAL = nominalDateOf(Date.now(), 'UTC');

function consolidate(scope: SignalScope, extra: Partial<ConsolidateThreadSignalsInput> = {}, at = NOMINAL): Promise<ScopeConsolidation> {
  const input: ConsolidateThreadSignalsInput = { queues, scope, date: at.date, nominalMs: at.nominalMs, ...extra };
  return env.client.workflow.execute('consolidateThreadSignals', {
    workflowId: workflowIds.consolidate(scope, at.date, extra.dryRun === true),
    taskQueue: queues.maintenance,
    args: [input],
  });
}

/** A thread with one of each case: a merge (with links), an exact-0.9 pair, an archive, a decay, one to embed. */
async function seedMixedThread() {
  const user = await seedUser(db());
  const caseId = await seedCase(db(), user.id);
  const threadId = await seedScopeThread(db(), user.id, new Date(), caseId);
  const n = NOMINAL.nominalMs;
  const [survivor, merged, exact, old, halved, unembedded] = await seedSignals(db(), { threadId, caseId }, n, [
    { confidence: 0.9, embedding: AXIS, references: 2, firstSeenDaysAgo: 1 },
    { confidence: 0.7, embedding: ABOVE_09, references: 3, firstSeenDaysAgo: 5 },
    // Exactly 0.9 to the survivor (not merged); above 0.9 to `merged`, but that one is taken.
    { confidence: 0.6, embedding: AT_09 },
    { confidence: 0.8, embedding: vector(0, 1, 0, 0), lastSeenDaysAgo: 60 },
    { confidence: 0.8, embedding: vector(0, 0, 1, 0), lastSeenDaysAgo: 30 },
    { text: 'the bakery needs a second oven before the spring opening', embedding: null },
  ]);
  const both = await seedEvidence(db(), caseId, user.id);
  const onlyMerged = await seedEvidence(db(), caseId, user.id);
  await seedLink(db(), caseId, both, survivor!, 0.5);
  await seedLink(db(), caseId, both, merged!, 0.8);
  await seedLink(db(), caseId, onlyMerged, merged!, 0.4);
  return { user, caseId, threadId, survivor: survivor!, merged: merged!, exact: exact!, old: old!, halved: halved!, unembedded: unembedded!, both, onlyMerged };
}

describe('consolidateThreadSignals', () => {
  it('merges, decays and archives; the same date again changes nothing', async () => {
    const s = await seedMixedThread();
    const scope: SignalScope = { kind: 'thread', id: s.threadId };
    const report = await consolidate(scope);
    expect(report).toEqual({ examined: 6, merged: 1, decayed: 2, archived: 1, embedded: 1 });

    const survivor = await signalById(db(), s.survivor);
    expect(survivor).toMatchObject({ status: 'active', referenceCount: 5, baseConfidence: 0.9 });
    expect(survivor.firstSeenAt.getTime()).toBe(NOMINAL.nominalMs - 5 * DAY_MS);
    expect(await signalById(db(), s.merged)).toMatchObject({ status: 'merged', mergedInto: s.survivor });
    expect(await signalById(db(), s.exact)).toMatchObject({ status: 'active', mergedInto: null });
    expect(await signalById(db(), s.old)).toMatchObject({ status: 'archived', baseConfidence: 0.8 });
    expect((await signalById(db(), s.old)).confidence).toBeCloseTo(0.2, 6);
    expect((await signalById(db(), s.halved)).confidence).toBeCloseTo(0.4, 6);
    expect((await signalById(db(), s.unembedded)).embedding).toHaveLength(64);

    // Links moved to the survivor, the stronger score kept, none lost.
    const { links } = await snapshot(db(), [s.threadId]);
    expect(links.map((l) => [l.evidenceId, l.signalId, l.score]).sort()).toEqual(
      [[s.both, s.survivor, 0.8], [s.onlyMerged, s.survivor, 0.4]].sort(),
    );

    const before = await snapshot(db(), [s.threadId]);
    expect(await consolidate(scope)).toEqual({ examined: 4, merged: 0, decayed: 0, archived: 0, embedded: 0 });
    expect(await snapshot(db(), [s.threadId])).toEqual(before);
  });

  it('a survivor merged later takes what was merged into it along (one hop), in a thread and in a case', async () => {
    const user = await seedUser(db());
    const caseId = await seedCase(db(), user.id);
    const threadId = await seedScopeThread(db(), user.id, new Date(), caseId);
    const policy = { ...SIGNAL_MAINTENANCE_DEFAULTS };
    for (const scope of [{ kind: 'thread', id: threadId }, { kind: 'case', id: caseId }] as const) {
      const [first, second, later] = await seedSignals(db(), { threadId: scope.kind === 'thread' ? threadId : null, caseId }, NOMINAL.nominalMs, [
        { confidence: 0.8, embedding: AXIS },
        { confidence: 0.7, embedding: ABOVE_09 },
        { confidence: 0.9, embedding: vector(0, 1, 0, 0) },
      ]);
      await consolidateScope(database.db, policy, { scope, nominalMs: NOMINAL.nominalMs, skipEmbedding: true });
      expect(await signalById(db(), second!)).toMatchObject({ status: 'merged', mergedInto: first });
      // `later` comes to mean what `first` means, and is the more confident: `first` merges into it.
      await db().update(signals).set({ embedding: vector(1, 0.01, 0, 0) }).where(eq(signals.id, later!));
      const result = await consolidateScope(database.db, policy, { scope, nominalMs: NOMINAL.nominalMs, skipEmbedding: true });
      expect(result, scope.kind).toMatchObject({ merged: 1 });
      expect(await signalById(db(), first!), scope.kind).toMatchObject({ status: 'merged', mergedInto: later });
      expect(await signalById(db(), second!), scope.kind).toMatchObject({ status: 'merged', mergedInto: later });
    }
  });

  it('a merge whose signals changed after they were read (a re-mention) reads again: nothing of it is lost', async () => {
    const s = await seedMixedThread();
    const scope: SignalScope = { kind: 'thread', id: s.threadId };
    // The merged signal is said again between the activity's read and its write.
    let mentioned = false;
    const client = db().$client;
    const racingClient = new Proxy(client, {
      get(target, key) {
        if (key !== 'unsafe') return Reflect.get(target, key) as unknown;
        return async (text: string, ...rest: unknown[]) => {
          if (!mentioned && text.includes('for update')) {
            mentioned = true;
            await db().update(signals).set({ referenceCount: sql`${signals.referenceCount} + 1`, lastSeenAt: sql`now()` }).where(eq(signals.id, s.merged));
          }
          return (target.unsafe as (...args: unknown[]) => unknown)(text, ...rest);
        };
      },
    });
    const racing = new Proxy(db(), { get: (target, key) => (key === '$client' ? racingClient : Reflect.get(target, key)) as unknown });
    const policy = { ...SIGNAL_MAINTENANCE_DEFAULTS };
    const result = await consolidateScope(racing, policy, { scope, nominalMs: NOMINAL.nominalMs, skipEmbedding: true });
    expect(mentioned).toBe(true);
    expect(result).toMatchObject({ examined: 6, merged: 1 });
    // 2 + 3, and the re-mention: counted for the survivor.
    expect(await signalById(db(), s.survivor)).toMatchObject({ status: 'active', referenceCount: 6 });
    expect(await signalById(db(), s.merged)).toMatchObject({ status: 'merged', mergedInto: s.survivor });
    const { links } = await snapshot(db(), [s.threadId]);
    expect(links.map((l) => [l.evidenceId, l.signalId, l.score]).sort()).toEqual(
      [[s.both, s.survivor, 0.8], [s.onlyMerged, s.survivor, 0.4]].sort(),
    );
  });

  it('reads again as long as reads get batches written, and reports every merge and decay of the run once', async () => {
    const user = await seedUser(db());
    const threadId = await seedScopeThread(db(), user.id);
    const axis = (k: number, near = 0) => vector(...Array.from({ length: 12 }, (_, i) => (i === k ? 1 : i === k + 6 ? near : 0)));
    const ids = await seedSignals(db(), { threadId }, NOMINAL.nominalMs, [0, 1, 2, 3, 4].flatMap((k) => [
      { confidence: 0.9, embedding: axis(k), lastSeenDaysAgo: 30, firstSeenDaysAgo: 40 + k },
      { confidence: 0.5, embedding: axis(k, 0.01), lastSeenDaysAgo: 30 },
    ]));
    const members = ids.filter((_, i) => i % 2 === 1);
    // One group a write; before every second write the members are said again, so each read
    // writes one merge and then finds its next group changed: five reads, more than the
    // three in a row a stalled scope gets.
    let writes = 0;
    const racing = racingWrites(async () => {
      if (++writes % 2 === 0) await db().update(signals).set({ referenceCount: sql`${signals.referenceCount} + 1` }).where(inArray(signals.id, members));
    });
    const result = await consolidateScope(racing, { ...SIGNAL_MAINTENANCE_DEFAULTS, batchSize: 1 }, { scope: { kind: 'thread', id: threadId }, nominalMs: NOMINAL.nominalMs, skipEmbedding: true });
    expect(writes).toBe(9);
    // Each merge once (its survivor decayed on the way), whichever read wrote it.
    expect(result).toMatchObject({ merged: 5, decayed: 5, archived: 0 });
    for (const member of members) expect(await signalById(db(), member)).toMatchObject({ status: 'merged' });
  });

  it('reports only the decays it wrote: a signal said again between the read and the write is left to the next run, and not counted', async () => {
    const user = await seedUser(db());
    const threadId = await seedScopeThread(db(), user.id);
    const [touched, untouched] = await seedSignals(db(), { threadId }, NOMINAL.nominalMs, [
      { confidence: 0.9, lastSeenDaysAgo: 30 },
      { confidence: 0.9, lastSeenDaysAgo: 30 },
    ]);
    const racing = racingWrites(async () => {
      await db().update(signals).set({ referenceCount: sql`${signals.referenceCount} + 1` }).where(eq(signals.id, touched!));
    });
    const result = await consolidateScope(racing, SIGNAL_MAINTENANCE_DEFAULTS, { scope: { kind: 'thread', id: threadId }, nominalMs: NOMINAL.nominalMs, skipEmbedding: true });
    expect(await signalById(db(), touched!)).toMatchObject({ confidence: 0.9, referenceCount: 2 });
    expect((await signalById(db(), untouched!))?.confidence).toBeLessThan(0.9);
    expect(result).toMatchObject({ examined: 2, merged: 0, decayed: 1, archived: 0 });
  });

  it('holds through a database outage (Decision 28) and then consolidates', async () => {
    const s = await seedMixedThread();
    unreachable.set(s.threadId, 2);
    const report = await consolidate({ kind: 'thread', id: s.threadId }, { outageHoldMs: 60_000 });
    expect(unreachable.get(s.threadId)).toBe(0);
    expect(report).toMatchObject({ merged: 1, archived: 1 });
    expect(await signalById(db(), s.merged)).toMatchObject({ status: 'merged', mergedInto: s.survivor });
  });

  it('a dry run reports what it would do and writes nothing', async () => {
    const s = await seedMixedThread();
    const before = await snapshot(db(), [s.threadId]);
    const report = await consolidate({ kind: 'thread', id: s.threadId }, { dryRun: true });
    // No embedding in a dry run: the unembedded signal takes no part.
    expect(report).toEqual({ examined: 6, merged: 1, decayed: 2, archived: 1, embedded: 0 });
    expect(await snapshot(db(), [s.threadId])).toEqual(before);
  });

  it("a case's own signals are their own scope (consolidate-case-…)", async () => {
    const user = await seedUser(db());
    const caseId = await seedCase(db(), user.id);
    const threadId = await seedScopeThread(db(), user.id, new Date(), caseId);
    const [own] = await seedSignals(db(), { threadId: null, caseId }, NOMINAL.nominalMs, [{ embedding: AXIS, confidence: 0.9 }, { embedding: ABOVE_09, confidence: 0.5 }]);
    const [ofThread] = await seedSignals(db(), { threadId, caseId }, NOMINAL.nominalMs, [{ embedding: ABOVE_09, confidence: 0.95 }]);
    expect(await consolidate({ kind: 'case', id: caseId })).toMatchObject({ examined: 2, merged: 1 });
    expect(await signalById(db(), own!)).toMatchObject({ status: 'active', referenceCount: 2 });
    expect(await signalById(db(), ofThread!)).toMatchObject({ status: 'active', referenceCount: 1 });
  });

  it("a re-mention of a merged signal counts for its survivor; of an archived one, revives it", async () => {
    const s = await seedMixedThread();
    await consolidate({ kind: 'thread', id: s.threadId });
    const [merged, old] = await Promise.all([signalById(db(), s.merged), signalById(db(), s.old)]);
    const survivorBefore = await signalById(db(), s.survivor);
    // What chat's step 5 and on-demand extraction do with a text already stored.
    await db().transaction(async (tx) => {
      const rows = [merged, old].map((r) => ({ threadId: s.threadId, caseId: s.caseId, type: r.type, text: r.text, textHash: r.textHash, confidence: 0.5, baseConfidence: 0.5, referenceCount: 1 }));
      const stored = await tx.insert(signals).values(rows).onConflictDoUpdate({ target: [signals.threadId, signals.textHash], set: mentionedAgain }).returning(mentionReturning);
      await creditSurvivors(tx, stored, new Map(rows.map((r) => [r.textHash, 1])));
    });
    const survivor = await signalById(db(), s.survivor);
    expect(survivor.referenceCount).toBe(survivorBefore.referenceCount + 1);
    expect(survivor.lastReferencedAt).not.toBeNull();
    expect((await signalById(db(), s.merged)).referenceCount).toBe(merged.referenceCount);
    const revived = await signalById(db(), s.old);
    expect(revived).toMatchObject({ status: 'active', confidence: 0.8 });
    expect(revived.lastSeenAt.getTime()).toBeGreaterThan(old.lastSeenAt.getTime());
  });
});

describe('a re-mention through on-demand extraction', () => {
  it("counts for a merged signal's survivor and revives it when archived", async () => {
    const user = await seedUser(db());
    const caseId = await seedCase(db(), user.id);
    const threadId = await seedScopeThread(db(), user.id, new Date(), caseId);
    const said = 'We assume rents near the station are about 2000 pounds a month.';
    const extraction = createSignalExtractionActivities({ db: db(), llm: createLocalLlm(), config: {} });
    const extractFrom = async (key: string) => {
      const [message] = await db().insert(messages).values({ threadId, role: 'user', content: said, status: 'complete' }).returning();
      return extraction.extractSignalBatch({ key, caseId, userId: user.id, source: { kind: 'messages', threadId, messageIds: [message!.id] }, after: -1 });
    };
    const { signalIds } = await extractFrom(uniqueId('first'));
    expect(signalIds.length).toBeGreaterThan(0);
    const [survivor] = await seedSignals(db(), { threadId, caseId }, Date.now() - 40 * DAY_MS, [{ status: 'archived', confidence: 0.2, base: 0.7, references: 4 }]);
    await db().update(signals).set({ status: 'merged', mergedInto: survivor! }).where(inArray(signals.id, signalIds));
    const mergedBefore = await Promise.all(signalIds.map((id) => signalById(db(), id)));

    await extractFrom(uniqueId('again'));
    const after = await signalById(db(), survivor!);
    expect(after).toMatchObject({ status: 'active', referenceCount: 4 + signalIds.length });
    expect(after.confidence).toBeCloseTo(0.7, 6);
    expect(after.lastReferencedAt).not.toBeNull();
    for (const before of mergedBefore) expect(await signalById(db(), before.id)).toMatchObject({ status: 'merged', referenceCount: before.referenceCount });
  });
});

function runJob(type: 'scheduleSignalConsolidation' | 'updateSignalTemperatures', input: Partial<ScheduleSignalConsolidationInput>) {
  return env.client.workflow.start(type, { workflowId: uniqueId(type), taskQueue: queues.maintenance, args: [{ queues, ...input }] });
}

async function exists(workflowId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('scheduleSignalConsolidation', () => {
  it('consolidates exactly the qualifying scopes, continuing as new, and counts an id already running', async () => {
    // A month ahead: the threads the other tests made (updated now) are not recent then.
    const at = nominalDateOf(Date.now() + 30 * DAY_MS, 'UTC');
    const recent = new Date(at.nominalMs - DAY_MS);
    const user = await seedUser(db());
    const ten = Array.from({ length: 10 }, () => ({}));
    const qualifying = await seedScopeThread(db(), user.id, recent);
    await seedSignals(db(), { threadId: qualifying }, at.nominalMs, ten);
    const busy = await seedScopeThread(db(), user.id, recent);
    await seedSignals(db(), { threadId: busy }, at.nominalMs, ten);
    const nine = await seedScopeThread(db(), user.id, recent);
    await seedSignals(db(), { threadId: nine }, at.nominalMs, [...ten.slice(1), { status: 'archived' }]);
    const stale = await seedScopeThread(db(), user.id, new Date(at.nominalMs - 8 * DAY_MS));
    await seedSignals(db(), { threadId: stale }, at.nominalMs, [...ten, {}]);
    const caseId = await seedCase(db(), user.id);
    await seedSignals(db(), { threadId: null, caseId }, at.nominalMs, ten);
    const smallCase = await seedCase(db(), user.id);
    await seedSignals(db(), { threadId: null, caseId: smallCase }, at.nominalMs, ten.slice(1));

    // A run of `busy` for that date is open (a manual one, say): on a queue no worker polls.
    const busyId = workflowIds.consolidate({ kind: 'thread', id: busy }, at.date, false);
    const open = await env.client.workflow.start('consolidateThreadSignals', { workflowId: busyId, taskQueue: uniqueId('nobody'), args: [{}] });
    try {
      const job = await runJob('scheduleSignalConsolidation', { nominalTime: at.nominalMs + 3 * 3_600_000, concurrency: 2, scopesPerRun: 1 });
      const report: MaintenanceReport = await job.result();
      expect(report).toMatchObject({ job: 'signal-consolidation', date: at.date, dryRun: false, scopesExamined: 3, started: 2, alreadyRunning: 1, failed: 0, complete: true });
      expect(report.signalsExamined).toBe(20);
      for (const [scope, expected] of [
        [{ kind: 'thread', id: qualifying }, true],
        [{ kind: 'case', id: caseId }, true],
        [{ kind: 'thread', id: nine }, false],
        [{ kind: 'thread', id: stale }, false],
        [{ kind: 'case', id: smallCase }, false],
      ] as const) {
        expect(await exists(workflowIds.consolidate(scope, at.date, false)), `${scope.kind} ${scope.id}`).toBe(expected);
      }
      // Continued as new after each scope: more than one run of the one id.
      const runs = await job.describe();
      expect(runs.runId).not.toBe(job.firstExecutionRunId);
      const [event] = await db().select().from(events).where(and(eq(events.type, 'MAINTENANCE_REPORT'), eq(events.idempotencyKey, `maintenance-report:signal-consolidation:${job.workflowId}`)));
      expect(event).toMatchObject({ userId: null, payload: expect.objectContaining({ started: 2, alreadyRunning: 1 }) });

      // The same date again: every child runs and changes nothing.
      const again: MaintenanceReport = await (await runJob('scheduleSignalConsolidation', { nominalTime: at.nominalMs, scopesPerRun: 10 })).result();
      expect(again, JSON.stringify(again)).toMatchObject({ started: 2, alreadyRunning: 1, merged: 0, decayed: 0, archived: 0 });

      // A dry run's children carry -dry and write nothing.
      const before = await snapshot(db(), [qualifying], [caseId]);
      const dry: MaintenanceReport = await (await runJob('scheduleSignalConsolidation', { nominalTime: at.nominalMs, dryRun: true })).result();
      expect(dry).toMatchObject({ dryRun: true, started: 3, alreadyRunning: 0 });
      expect(await exists(workflowIds.consolidate({ kind: 'thread', id: qualifying }, at.date, true))).toBe(true);
      expect(await snapshot(db(), [qualifying], [caseId])).toEqual(before);
    } finally {
      await open.terminate('test over');
    }
  });
});

describe('updateSignalTemperatures', () => {
  it('re-tiers from recency and references; the same date again, or a dry run, changes nothing', async () => {
    // Two months ahead, so the other tests' signals are all cold by then, and none is hot.
    const at = nominalDateOf(Date.now() + 60 * DAY_MS, 'UTC');
    const user = await seedUser(db());
    const threadId = await seedScopeThread(db(), user.id);
    const [hot, referenced, warm, often, cold] = await seedSignals(db(), { threadId }, at.nominalMs, [
      { lastSeenDaysAgo: 1, temperature: 'cold' },
      { lastSeenDaysAgo: 40, lastReferencedDaysAgo: 2, temperature: 'cold' },
      { lastSeenDaysAgo: 10, temperature: 'hot' },
      { lastSeenDaysAgo: 40, references: 5, temperature: 'cold' },
      { lastSeenDaysAgo: 40, temperature: 'hot' },
    ]);
    const dryBefore = await snapshot(db(), [threadId]);
    const dry: MaintenanceReport = await (await runJob('updateSignalTemperatures', { nominalTime: at.nominalMs, dryRun: true })).result();
    expect(dry.retiered).toBeGreaterThanOrEqual(5);
    expect(await snapshot(db(), [threadId])).toEqual(dryBefore);

    const first: MaintenanceReport = await (await runJob('updateSignalTemperatures', { nominalTime: at.nominalMs })).result();
    expect(first).toMatchObject({ job: 'signal-temperatures', date: at.date, complete: true });
    const tiers = await Promise.all([hot, referenced, warm, often, cold].map(async (id) => (await signalById(db(), id!)).temperature));
    expect(tiers).toEqual(['hot', 'hot', 'warm', 'warm', 'cold']);
    const second: MaintenanceReport = await (await runJob('updateSignalTemperatures', { nominalTime: at.nominalMs })).result();
    expect(second).toMatchObject({ retiered: 0, signalsExamined: first.signalsExamined });
  });
});
