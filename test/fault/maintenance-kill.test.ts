/**
 * Fault test (issue 18): every maintenance job running when the worker is SIGKILLed once. The
 * daily fan-out (scheduleSignalConsolidation) has started a thread's consolidation, killed
 * between two of its merge transactions (batches of one group; the test kills once some groups,
 * not all, are merged); an events cleanup is killed between batches (some old events deleted,
 * not all); the temperatures and a refresh of the working views run beside them. A new worker
 * finishes every one: the dead attempts are noticed by their heartbeat timeouts and retried.
 * The consolidation re-reads what is merged and merges the rest: no signal merged twice (each
 * survivor's reference count is its group's sum, once), none into the wrong one, no link lost
 * (every evidence item linked to a group before is linked to its survivor); the fan-out counts
 * its one child once. The cleanup goes on from its last heartbeat's cursor: every old event is
 * gone and every event it must keep (recent, audit) is still there.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, lt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { caseOverviews, events, evidenceSignalLinks, signals } from '../../activities/db/schema/index.js';
import { nominalDateOf } from '../../workflows/maintenance/nominal-date.js';
import type {
  CleanupOldEventsInput, CleanupOldEventsReport, MaintenanceJobInput, MaintenanceReport, RefreshWorkingViewsInput, ScheduleSignalConsolidationInput,
} from '../../workflows/types.js';
import { waitFor } from '../helpers/child-process.js';
import { seedCase, seedEvidence, seedLink, seedScopeThread, seedSignals } from '../helpers/signal-maintenance.js';
import { startFaultStack, type FaultStack } from './harness.js';

/** Pairs of near-duplicates: each pair one group (a survivor and one merged). */
const GROUPS = 150;
/** Events past the retention, deleted five a batch: many commits for the kill to land between. */
const OLD_EVENTS = 4_000;
const CLEANUP_BATCH = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Old events of no run (the cleanup deletes them), and ones it keeps: recent, and an old audit type. */
async function seedEvents(db: FaultStack['db']): Promise<{ kept: number }> {
  const old = new Date(Date.now() - 200 * DAY_MS);
  const row = (type: string, createdAt: Date) => ({ type, payload: {}, idempotencyKey: `fault-${randomUUID()}`, createdAt });
  for (let i = 0; i < OLD_EVENTS; i += 1_000) {
    await db.insert(events).values(Array.from({ length: Math.min(1_000, OLD_EVENTS - i) }, () => row('WORKFLOW_COMPLETED', old)));
  }
  const kept = [...Array.from({ length: 5 }, () => row('WORKFLOW_COMPLETED', new Date())), ...Array.from({ length: 5 }, () => row('CASE_DRAFTED', old))];
  await db.insert(events).values(kept);
  return { kept: kept.length };
}

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    label: 'maintenance-kill',
    temporalAddress: inject('temporalAddress'),
    // One group a transaction: the merges are many commits, and a kill lands between two.
    workerEnv: { SIGNAL_MAINTENANCE_BATCH_SIZE: '1' },
  });
});

afterAll(async () => {
  await stack?.close();
});

/**
 * Group i: two signals near e_a + e_b, a pair of axes no other group has (two groups share at
 * most one axis: cosine 0.5 at most), the first the more confident.
 */
function pairOf(i: number) {
  const a = i % 64;
  const b = (a + 1 + Math.floor(i / 64)) % 64;
  const v = new Array<number>(64).fill(0);
  v[a] = 1;
  v[b] = 1;
  const near = [...v];
  near[(b + 1) % 64] = 0.01;
  return [
    { confidence: 0.9, embedding: v, references: 2 },
    { confidence: 0.5, embedding: near, references: 3 },
  ];
}

describe('worker SIGKILL in the middle of a consolidation and an events cleanup', () => {
  it('a new worker finishes every job: no signal merged twice, no link lost; every old event deleted, every kept one kept', async () => {
    await stack.startWorker();
    const at = nominalDateOf(Date.now(), 'UTC');
    const caseId = await seedCase(stack.db, stack.userId);
    const threadId = await seedScopeThread(stack.db, stack.userId, new Date(), caseId);
    const ids = await seedSignals(stack.db, { threadId, caseId }, at.nominalMs, Array.from({ length: GROUPS }, (_, i) => pairOf(i)).flat());
    const groups = Array.from({ length: GROUPS }, (_, i) => ({ survivor: ids[2 * i]!, merged: ids[2 * i + 1]! }));
    // Each merged signal carries a link of its own, and every tenth group one item links both (the stronger kept).
    const linked = new Map<string, string[]>();
    for (const [i, g] of groups.entries()) {
      const own = await seedEvidence(stack.db, caseId, stack.userId);
      await seedLink(stack.db, caseId, own, g.merged, 0.4);
      linked.set(g.survivor, [own]);
      if (i % 10 === 0) {
        const both = await seedEvidence(stack.db, caseId, stack.userId);
        await seedLink(stack.db, caseId, both, g.survivor, 0.3);
        await seedLink(stack.db, caseId, both, g.merged, 0.7);
        linked.get(g.survivor)!.push(both);
      }
    }

    // The daily fan-out starts the thread's consolidation as its child (the only qualifying scope
    // of this file's database); the temperatures and a refresh of the working views run beside it.
    const fanOut = await stack.client.workflow.start('scheduleSignalConsolidation', {
      workflowId: `fault-consolidation-${randomUUID()}`,
      taskQueue: stack.queues.maintenance,
      args: [{ queues: stack.queues, nominalTime: at.nominalMs, concurrency: 1 } satisfies ScheduleSignalConsolidationInput],
    });
    const temperatures = await stack.client.workflow.start('updateSignalTemperatures', {
      workflowId: `fault-temperatures-${randomUUID()}`,
      taskQueue: stack.queues.maintenance,
      args: [{ queues: stack.queues, nominalTime: at.nominalMs } satisfies MaintenanceJobInput],
    });
    const refresh = await stack.client.workflow.start('refreshWorkingViews', {
      workflowId: `fault-refresh-${randomUUID()}`,
      taskQueue: stack.queues.maintenance,
      args: [{} satisfies RefreshWorkingViewsInput],
    });
    const mergedCount = async () =>
      (await stack.db.select({ status: signals.status }).from(signals).where(inArray(signals.id, groups.map((g) => g.merged)))).filter((r) => r.status === 'merged').length;
    const { kept } = await seedEvents(stack.db);
    const oldEvents = async () => (await stack.db.select({ id: events.id }).from(events).where(and(eq(events.type, 'WORKFLOW_COMPLETED'), lt(events.createdAt, new Date(Date.now() - 100 * DAY_MS))))).length;
    await waitFor('a group merged', async () => ((await mergedCount()) > 0 ? true : undefined), 90_000, stack.worker());
    const cleanup = await stack.client.workflow.start('cleanupOldEvents', {
      workflowId: `fault-cleanup-${randomUUID()}`,
      taskQueue: stack.queues.maintenance,
      args: [{ batchSize: CLEANUP_BATCH } satisfies CleanupOldEventsInput],
    });
    await waitFor('some groups merged and some old events deleted, neither all', async () => {
      const [n, left] = [await mergedCount(), await oldEvents()];
      return n >= 5 && n < GROUPS && left < OLD_EVENTS && left > 0 ? n : undefined;
    }, 90_000, stack.worker());
    await stack.killWorker();
    const killedAt = Date.now();
    const partly = await mergedCount();
    const oldLeft = await oldEvents();
    expect(partly).toBeLessThan(GROUPS);
    expect(oldLeft).toBeGreaterThan(0);
    await stack.startWorker();

    const cleaned: CleanupOldEventsReport = await cleanup.result();
    expect(await oldEvents()).toBe(0);
    const left = await stack.db.select({ type: events.type }).from(events).where(inArray(events.type, ['WORKFLOW_COMPLETED', 'CASE_DRAFTED']));
    expect(left).toHaveLength(kept);
    console.log(`[maintenance-kill] cleanup: ${OLD_EVENTS - oldLeft} of ${OLD_EVENTS} old events deleted at the kill; report ${JSON.stringify(cleaned.events)}`);

    const report: MaintenanceReport = await fanOut.result();
    console.log(`[maintenance-kill] killed with ${partly} of ${GROUPS} groups merged; done ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`);
    // One child, started once; its retried attempt merged what the dead one had not.
    expect(report).toMatchObject({ started: 1, failed: 0, complete: true, merged: GROUPS - partly });
    expect(await mergedCount()).toBe(GROUPS);

    const rows = await stack.db.select().from(signals).where(eq(signals.threadId, threadId));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const links = await stack.db.select().from(evidenceSignalLinks).where(eq(evidenceSignalLinks.caseId, caseId));
    for (const g of groups) {
      expect(byId.get(g.merged)).toMatchObject({ status: 'merged', mergedInto: g.survivor });
      // Summed once: 2 + 3. A group merged twice would count its merged signal again.
      expect(byId.get(g.survivor)).toMatchObject({ status: 'active', referenceCount: 5, mergedInto: null });
      const ofSurvivor = links.filter((l) => l.signalId === g.survivor);
      expect(ofSurvivor.map((l) => l.evidenceId).sort()).toEqual([...linked.get(g.survivor)!].sort());
    }
    expect(links.filter((l) => groups.some((g) => g.merged === l.signalId))).toEqual([]);
    expect(links.filter((l) => l.score === 0.7)).toHaveLength(Math.ceil(GROUPS / 10));
    // The temperatures and the refresh that ran beside them completed too: every active signal
    // (seen today) hot, the case's overview refreshed with its survivors.
    await temperatures.result();
    expect(rows.filter((r) => r.status === 'active').every((r) => r.temperature === 'hot')).toBe(true);
    await refresh.result();
    await stack.client.workflow.execute('refreshWorkingViews', { workflowId: `fault-refresh-${randomUUID()}`, taskQueue: stack.queues.maintenance, args: [{}] });
    const [overview] = await stack.db.select().from(caseOverviews).where(eq(caseOverviews.caseId, caseId));
    expect(overview).toBeDefined();
    for (const run of [fanOut, cleanup, temperatures, refresh]) expect((await run.describe()).status.name.toLowerCase()).toBe('completed');
    expect(stack.worker()?.alive()).toBe(true);
  }, 240_000);
});
