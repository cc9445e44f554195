/**
 * Fault test (issue 17): the worker SIGKILLed inside the evidence and brief pipelines, by
 * hooks armed in the worker child (test/fault/worker-process.ts), each of which must fire:
 *
 * - ingestions: one worker dies right after an `analyseEvidence` committed (its result never
 *   reported), with the other items of the case in flight; the next right after an item's
 *   tell (brief and conversations told, the result not reported); the next after an
 *   ingestion's last model call, before its commit. A clean worker finishes. Every item ends
 *   `completed` with exactly one EVIDENCE_ADDED; its link and contradiction rows are exactly
 *   what that event records (no pair twice); the item whose commit was lost was answered from
 *   its record, without a second model call; the lost tell was retried after its heartbeat
 *   timeout; every change reached a version of the brief.
 * - an evolution: one window of changes; the worker dies after the `brief` model call (before
 *   the commit), the next right after the commit; the third attempt finds the version by its
 *   key. One version, one BRIEF_EVOLVED, annotations created once, the run waiting for the
 *   next change with nothing pending.
 *
 * The brief's windows are tiny (the worker child's BRIEF_* env); a dead attempt is noticed by
 * its heartbeat timeout (20 s for an ingestion, 10 s for an evolution) and retried after the
 * policy's interval, so the file takes about two minutes after its first bundle.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { attachThreadRow } from '../../activities/cases/attach.js';
import { signalBriefChanged } from '../../activities/briefs/client.js';
import { contradictions, events, evidence, evidenceSignalLinks, tokenLedger } from '../../activities/db/schema/index.js';
import { evidenceHandOff } from '../../activities/evidence/start.js';
import { storeEvidence } from '../../activities/evidence/store.js';
import { handOver } from '../../activities/handoff.js';
import { workflowIds, type BriefChange, type BriefChanges } from '../../workflows/types.js';
import { activityRecords } from '../helpers/activity-history.js';
import { annotationsOf, briefEvents, briefVersions, seedContradiction, seedEvidence, seedLink, seedSignal } from '../helpers/briefs.js';
import { eventually, seedThread } from '../helpers/chat.js';
import { exitsWithin, sleep, type Child } from '../helpers/child-process.js';
import { seedCase } from '../helpers/documents.js';
import { faultLines, startFaultStack, type FaultStack, type Faults } from './harness.js';

/** Windows of a few hundred ms: the brief evolves between the kills, not once at the end. */
const BRIEF_ENV = { BRIEF_DEBOUNCE_MS: '300', BRIEF_MAX_WAIT_MS: '1500', BRIEF_IDLE_CLOSE_MS: '120000' };
const WINDOWS = { debounceMs: 300, maxWaitMs: 1_500, idleCloseMs: 120_000, staleEvidenceDays: 180 };
/** An armed fault must fire within this, or its step proved nothing. */
const FIRE_WAIT_MS = 60_000;
const SETTLE_MS = 120_000;

const ITEMS = [
  'Rents near the station are 3500 pounds a month, the letting agent wrote.',
  'The landlord will renew the lease, the letter says.',
  'The landlord will sell the bakery building this year.',
  'The landlord will not sell the bakery building, his agent says.',
  'Flour prices rose by 12 percent last year, the miller says.',
  'The oven supplier offers a 3 year warranty on deck ovens.',
];
const TOLD_ITEM = 'Footfall near the station doubled since the tram line opened.';
const LATE_ITEM = 'A bakery two streets away closed in March, the council says.';

let stack: FaultStack;
const toTerminate: string[] = [];

beforeAll(async () => {
  stack = await startFaultStack({ label: 'evidence-kill', temporalAddress: inject('temporalAddress'), workerEnv: BRIEF_ENV });
});

/** Ends the brief runs of the cases so far: a later test's armed fault must fire in its own case. */
async function terminateBriefs(): Promise<void> {
  for (const id of toTerminate.splice(0)) await stack.client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
}

afterAll(async () => {
  if (stack) await terminateBriefs();
  await stack?.close();
});

/** Starts a worker armed with `faults` and waits until it dies of one; returns the fault line. */
async function armedWorkerDies(faults: Faults, trigger?: () => Promise<void>): Promise<{ worker: Child; fired: string }> {
  const worker = await stack.startWorker(faults);
  await trigger?.();
  const exited = await exitsWithin(worker, FIRE_WAIT_MS);
  const fired = faultLines(worker.output());
  if (!exited) await stack.killWorker();
  expect(exited && fired.length === 1, `the armed fault ${JSON.stringify(faults)} did not kill ${worker.name}; its output:\n${worker.output().slice(-3000)}`).toBe(true);
  console.log(`[evidence-kill] ${worker.name}: ${fired[0]}`);
  return { worker, fired: fired[0]! };
}

/** Stores the item and hands it to its run, as the gateway's route does. */
async function submit(caseId: string, text: string): Promise<string> {
  const { evidence: item } = await storeEvidence(stack.db, { caseId, userId: stack.userId, text });
  const handed = await handOver(evidenceHandOff(stack.client, stack.queues), item, { db: stack.db });
  expect(handed.outcome).toBe('delivered');
  return item.id;
}

const eventsOfItems = (ids: string[]) =>
  stack.db.select().from(events).where(and(eq(events.type, 'EVIDENCE_ADDED'), inArray(events.idempotencyKey, ids.map((id) => `evidence-added:${id}`))));

/** The distinct changes the case's brief versions were evolved over. */
async function changesInVersions(caseId: string): Promise<Set<string>> {
  const versions = await briefVersions(stack.db, caseId);
  return new Set(versions.flatMap((v) => (v.changes as unknown as BriefChanges).sample.map((c) => c.id)));
}

describe('worker SIGKILL inside the evidence pipeline and the brief', () => {
  it('ingestions killed after a commit, after a tell and after their model calls: every item completed once, links and contradictions as recorded', async () => {
    const caseId = await seedCase(stack.db, stack.userId, 'A second bakery in Leeds');
    toTerminate.push(workflowIds.evolveBrief(caseId));
    // A thread with signals joins the case (the rows: the attach's tell is not under test).
    const thread = await seedThread(stack.db, stack.userId);
    const { id: rent } = await seedSignal(stack.db, { caseId: null, threadId: thread.id, type: 'assumption', text: 'We assume rents near the station are about 2000 pounds a month.' });
    const { id: lease } = await seedSignal(stack.db, { caseId: null, threadId: thread.id, type: 'assumption', text: 'The landlord will renew the lease for five years.' });
    await stack.db.transaction((tx) => attachThreadRow(tx, { userId: stack.userId, threadId: thread.id, caseId }));

    const ids: string[] = [];
    const first = await armedWorkerDies({ FAULT_KILL_AFTER_EVIDENCE_COMMIT: 3 }, async () => {
      ids.push(...(await Promise.all(ITEMS.map((text) => submit(caseId, text)))));
    });
    const lostCommit = /committed evidence ([0-9a-f-]{36})/.exec(first.fired)?.[1];
    expect(ids).toContain(lostCommit);
    const told = await armedWorkerDies({ FAULT_KILL_AFTER_EVIDENCE_TELL: 1 }, async () => {
      ids.push(await submit(caseId, TOLD_ITEM));
    });
    const lostTell = /evidence ([0-9a-f-]{36})/.exec(told.fired)?.[1];
    await armedWorkerDies({ FAULT_KILL_AFTER_EVIDENCE_MODEL: 1 }, async () => {
      ids.push(await submit(caseId, LATE_ITEM));
    });
    const killedAt = Date.now();
    await stack.startWorker();

    const rows = await eventually(
      () => stack.db.select().from(evidence).where(eq(evidence.caseId, caseId)),
      (items) => items.every((i) => i.status === 'completed' || i.status === 'failed'),
      SETTLE_MS,
    );
    console.log(`[evidence-kill] every item settled ${Math.round((Date.now() - killedAt) / 1000)} s after the last kill`);
    expect(rows.map((r) => ({ id: r.id, status: r.status, error: r.error })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...ids].sort().map((id) => ({ id, status: 'completed', error: null })),
    );
    // Every run completes (its tell after the item's commit included).
    const runIds = ids.map((id) => workflowIds.evidence(caseId, rows.find((r) => r.id === id)!.contentHash));
    await Promise.all(runIds.map((runId) => stack.client.workflow.getHandle(runId).result()));
    console.log(`[evidence-kill] every run completed ${Math.round((Date.now() - killedAt) / 1000)} s after the last kill`);
    for (const runId of runIds) {
      for (const a of await activityRecords(stack.client, runId)) {
        if (a.attempt > 1) console.log(`[evidence-kill]   ${runId}: ${a.type} completed on attempt ${a.attempt} after ${(a.totalMs / 1000).toFixed(1)} s (${a.failure ?? ''})`);
      }
    }

    // Exactly one EVIDENCE_ADDED per item; its links and contradictions are the rows, each once.
    const added = await eventsOfItems(ids);
    expect(added.map((e) => e.payload.evidenceId as string).sort()).toEqual([...ids].sort());
    const links = await stack.db.select().from(evidenceSignalLinks).where(eq(evidenceSignalLinks.caseId, caseId));
    const linked = added.flatMap((e) => (e.payload.linked as { signalId: string }[]).map((l) => `${e.payload.evidenceId as string}:${l.signalId}`));
    expect(links.map((l) => `${l.evidenceId}:${l.signalId}`).sort()).toEqual(linked.sort());
    expect(links.find((l) => l.evidenceId === ids[0] && l.signalId === rent)).toMatchObject({ relation: 'contradicts' });
    expect(links.find((l) => l.evidenceId === ids[1] && l.signalId === lease)).toMatchObject({ relation: 'supports' });
    const pairs = await stack.db.select().from(contradictions).where(eq(contradictions.caseId, caseId));
    const pairKey = (a: string, b: string) => [a, b].sort().join('|');
    const recorded = new Set(
      added.flatMap((e) => (e.payload.contradicted as { kind: string; id: string }[]).map((c) => pairKey(`evidence:${e.payload.evidenceId as string}`, `${c.kind}:${c.id}`))),
    );
    expect(pairs.map((p) => pairKey(`${p.leftKind}:${p.leftId}`, `${p.rightKind}:${p.rightId}`)).sort()).toEqual([...recorded].sort());
    expect(recorded).toContain(pairKey(`evidence:${ids[2]}`, `evidence:${ids[3]}`));
    expect(recorded).toContain(pairKey(`evidence:${ids[0]}`, `signal:${rent}`));

    // The item whose result was lost: its retry answered from the record, calling no model.
    const lostRow = rows.find((r) => r.id === lostCommit)!;
    const lostRuns = await activityRecords(stack.client, workflowIds.evidence(caseId, lostRow.contentHash));
    expect(lostRuns.find((a) => a.type === 'analyseEvidence')).toMatchObject({ outcome: 'completed', attempt: 2 });
    const ledger = await stack.db.select().from(tokenLedger).where(eq(tokenLedger.workflowId, workflowIds.evidence(caseId, lostRow.contentHash)));
    expect(ledger.length).toBeGreaterThan(0);
    expect(new Set(ledger.map((l) => l.attempt))).toEqual(new Set([1]));

    // A tell whose worker died is retried once its heartbeat times out, not after a minute.
    const toldRow = rows.find((r) => r.id === lostTell)!;
    const tells = (await activityRecords(stack.client, workflowIds.evidence(caseId, toldRow.contentHash))).filter((a) => a.type === 'tellEvidenceAdded');
    expect(tells).toEqual([expect.objectContaining({ outcome: 'completed', attempt: 2, failure: expect.stringContaining('Heartbeat timeout') })]);

    // Every item reached the brief; each version has one BRIEF_EVOLVED, keyed by (case, version).
    await eventually(() => changesInVersions(caseId), (seen) => ids.every((id) => seen.has(id)), SETTLE_MS);
    const briefWorkflow = stack.client.workflow.getHandle(workflowIds.evolveBrief(caseId));
    await eventually(async () => (await briefWorkflow.describe()).raw.pendingActivities?.length ?? 0, (n) => n === 0, SETTLE_MS);
    const versions = await briefVersions(stack.db, caseId);
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    const evolved = await briefEvents(stack.db, caseId);
    expect(evolved.map((e) => e.idempotencyKey)).toEqual(versions.map((v) => `brief-evolved:${caseId}:${v.version}`));
    expect(faultLines(stack.workerLog())).toHaveLength(3);
  }, 240_000);

  it('an evolution killed after its model call, then after its commit: one version, one BRIEF_EVOLVED', async () => {
    await stack.stopWorker();
    await terminateBriefs();
    const title = 'Ovens for the second bakery';
    const caseId = await seedCase(stack.db, stack.userId, title);
    const workflowId = workflowIds.evolveBrief(caseId);
    toTerminate.push(workflowId);
    const claim = await seedSignal(stack.db, { caseId, type: 'assumption', text: 'A deck oven pays for itself within three years.' });
    await seedSignal(stack.db, { caseId, type: 'goal', text: 'Bake 600 loaves a day by the autumn.' });
    await seedSignal(stack.db, { caseId, type: 'decision', text: 'We lease the ovens rather than buy them.' });
    const supports = await seedEvidence(stack.db, { caseId, userId: stack.userId, text: 'The supplier quotes a payback of 30 months for a deck oven.' });
    const against = await seedEvidence(stack.db, { caseId, userId: stack.userId, text: 'Our accountant expects a payback of five years.' });
    await seedLink(stack.db, { caseId, evidenceId: supports.id, signalId: claim.id, relation: 'supports', score: 0.8 });
    await seedContradiction(stack.db, { caseId, left: { kind: 'evidence', id: against.id }, right: { kind: 'signal', id: claim.id } });
    const burst: BriefChange[] = [supports.id, against.id, claim.id, supports.id, against.id].map((id, i) => ({ kind: i === 2 ? 'signals-extracted' : 'evidence-added', id }));
    const tell = async () => {
      for (const change of burst) {
        await signalBriefChanged(stack.client, { caseId, userId: stack.userId }, change, { queues: stack.queues, brief: WINDOWS, deadline: Date.now() + 10_000 });
      }
    };

    expect((await armedWorkerDies({ FAULT_KILL_AFTER_BRIEF_MODEL: 1 }, tell)).fired).toContain(`evolution of "${title}"`);
    expect(await briefVersions(stack.db, caseId)).toEqual([]);
    const second = await armedWorkerDies({ FAULT_KILL_AFTER_BRIEF_COMMIT: 1 });
    expect(second.fired).toContain(`committed version 1 of case ${caseId}`);
    await stack.startWorker();

    const records = await eventually(
      () => activityRecords(stack.client, workflowId),
      (acts) => acts.some((a) => a.type === 'evolveCaseBrief' && a.outcome !== 'pending'),
      SETTLE_MS,
    );
    expect(records.filter((a) => a.type === 'evolveCaseBrief').map(({ outcome, attempt }) => ({ outcome, attempt }))).toEqual([{ outcome: 'completed', attempt: 3 }]);
    const versions = await briefVersions(stack.db, caseId);
    expect(versions.map((v) => ({ version: v.version, total: (v.changes as unknown as BriefChanges).total }))).toEqual([{ version: 1, total: burst.length }]);
    expect((await briefEvents(stack.db, caseId)).map((e) => e.idempotencyKey)).toEqual([`brief-evolved:${caseId}:1`]);
    const annotations = await annotationsOf(stack.db, caseId);
    expect(annotations.length).toBeGreaterThan(0);
    expect(annotations.every((a) => a.createdInVersion === 1 && a.resolvedBy === null)).toBe(true);
    expect(annotations.map((a) => a.kind)).toContain('contradicted');
    // The third attempt found the version by its key: no model call of its own.
    const ledger = await stack.db.select().from(tokenLedger).where(eq(tokenLedger.workflowId, workflowId));
    expect(ledger.filter((l) => l.attempt === 3)).toEqual([]);
    // Nothing pending: the run waits for the next change.
    await sleep(WINDOWS.maxWaitMs);
    const described = await stack.client.workflow.getHandle(workflowId).describe();
    expect({ status: described.status.name, pending: described.raw.pendingActivities?.length ?? 0 }).toEqual({ status: 'RUNNING', pending: 0 });
    expect(await briefVersions(stack.db, caseId)).toHaveLength(1);
  }, 240_000);
});
