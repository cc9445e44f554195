/**
 * Fault test (issue 18): the worker is SIGKILLed in the middle of a consolidation, between two
 * of its merge transactions (batches of one group; the test kills once some groups, not all,
 * are merged). A new worker finishes it: the dead attempt is noticed by its heartbeat timeout
 * and retried, re-reads what is merged, and merges the rest. No signal is merged twice (each
 * survivor's reference count is its group's sum, once), no signal merged into the wrong one,
 * and no link lost (every evidence item linked to a group before is linked to its survivor).
 */
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { evidenceSignalLinks, signals } from '../../activities/db/schema/index.js';
import { nominalDateOf } from '../../workflows/maintenance/nominal-date.js';
import { workflowIds, type ConsolidateThreadSignalsInput, type ScopeConsolidation, type SignalScope } from '../../workflows/types.js';
import { waitFor } from '../helpers/child-process.js';
import { seedCase, seedEvidence, seedLink, seedScopeThread, seedSignals } from '../helpers/signal-maintenance.js';
import { startFaultStack, type FaultStack } from './harness.js';

/** Pairs of near-duplicates: each pair one group (a survivor and one merged). */
const GROUPS = 150;

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

describe('worker SIGKILL in the middle of a consolidation', () => {
  it('a new worker finishes it: no signal merged twice, no link lost', async () => {
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

    const scope: SignalScope = { kind: 'thread', id: threadId };
    const input: ConsolidateThreadSignalsInput = { queues: stack.queues, scope, date: at.date, nominalMs: at.nominalMs };
    const handle = await stack.client.workflow.start('consolidateThreadSignals', {
      workflowId: workflowIds.consolidate(scope, at.date, false),
      taskQueue: stack.queues.maintenance,
      args: [input],
    });
    const mergedCount = async () =>
      (await stack.db.select({ status: signals.status }).from(signals).where(inArray(signals.id, groups.map((g) => g.merged)))).filter((r) => r.status === 'merged').length;
    await waitFor('some groups merged, not all', async () => {
      const n = await mergedCount();
      return n >= 5 && n < GROUPS ? n : undefined;
    }, 90_000, stack.worker());
    await stack.killWorker();
    const killedAt = Date.now();
    const partly = await mergedCount();
    expect(partly).toBeLessThan(GROUPS);
    await stack.startWorker();

    const report: ScopeConsolidation = await handle.result();
    console.log(`[maintenance-kill] killed with ${partly} of ${GROUPS} groups merged; done ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`);
    // The retried attempt merged what the dead one had not.
    expect(report.merged).toBe(GROUPS - partly);
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
    expect(stack.worker()?.alive()).toBe(true);
  }, 240_000);
});
