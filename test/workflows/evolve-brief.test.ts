/**
 * evolveBrief's debounce on the real dev server, with tiny windows through its input: a burst
 * is one evolution over every change, a steady stream still evolves at the maximum wait, a
 * change during an evolution makes a second one, continue-as-new loses no change, an idle run
 * closes and the next change starts another, and a cancel stops the evolution, not the run.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelEvolutionSignal } from '../../workflows/messages.js';
import { workflowIds, type BriefChanges } from '../../workflows/types.js';
import { briefEvents, briefVersions, seedEvidence, seedLink, seedSignal } from '../helpers/briefs.js';
import { startBriefStack, windows, type BriefStack } from '../helpers/brief-stack.js';
import { eventually } from '../helpers/chat.js';
import { seedCase } from '../helpers/documents.js';

let stack: BriefStack;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  stack = await startBriefStack('evolve-brief');
});
afterAll(() => stack?.close());

/** A case with one claim, and `n` completed evidence items supporting it (not linked yet: `link` does it). */
async function caseWithEvidence(n: number, title = `case ${randomUUID()}`) {
  const { db } = stack.database;
  const caseId = await seedCase(db, stack.userId, title);
  const claim = await seedSignal(db, { caseId, type: 'assumption', text: 'Rents near the station are 2000 pounds' });
  const items: Awaited<ReturnType<typeof seedEvidence>>[] = [];
  for (let i = 0; i < n; i++) items.push(await seedEvidence(db, { caseId, userId: stack.userId, text: `Evidence ${i}: a quote of ${1900 + i} pounds` }));
  const link = (i: number) => seedLink(db, { caseId, evidenceId: items[i]!.id, signalId: claim.id, relation: 'supports', score: 0.9 });
  return { caseId, items, link };
}

const versions = (caseId: string) => briefVersions(stack.database.db, caseId);
const totalOf = (v: { changes: unknown }) => (v.changes as BriefChanges).total;
const waitForVersions = (caseId: string, n: number, timeoutMs = 30_000) => eventually(() => versions(caseId), (v) => v.length >= n, timeoutMs);
const evidenceFor = (v: { sections: { key: string; items: { id: string }[] }[] }) => v.sections.find((s) => s.key === 'evidence-for')!.items.map((i) => i.id);

describe('the debounce', () => {
  it('evolves once over a burst of 20 changes within a second, and a later change opens a new window', async () => {
    const { caseId, items, link } = await caseWithEvidence(20);
    // The burst lasts longer than the quiet window: only a window each change moves on evolves once.
    const w = windows(600, 30_000);
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      await link(i);
      await stack.tell(caseId, { kind: 'evidence-added', id: items[i]!.id }, w);
      await sleep(45);
    }
    expect(Date.now() - started).toBeGreaterThan(600);
    const [first] = await waitForVersions(caseId, 1);
    // Three quiet windows more: nothing else comes.
    await sleep(1800);
    expect(await versions(caseId)).toHaveLength(1);
    expect(await briefEvents(stack.database.db, caseId)).toHaveLength(1);
    expect(stack.attempts.get(caseId)).toBe(1);
    const changes = first!.changes as unknown as BriefChanges;
    expect(changes).toMatchObject({ total: 20, counts: { 'evidence-added': 20 } });
    expect(changes.sample).toHaveLength(16);
    expect(new Set(evidenceFor(first!))).toEqual(new Set(items.map((e) => e.id)));

    await stack.tell(caseId, { kind: 'thread-attached', id: randomUUID() }, w);
    const [, second] = await waitForVersions(caseId, 2);
    expect(second!.changes).toMatchObject({ total: 1, counts: { 'thread-attached': 1 } });
  });

  it('evolves at the maximum wait under a steady stream, before the stream ends', async () => {
    const { caseId, items, link } = await caseWithEvidence(12);
    const w = windows(1000, 2500);
    let evolvedDuringStream = 0;
    for (let i = 0; i < 12; i++) {
      await link(i);
      await stack.tell(caseId, { kind: 'evidence-added', id: items[i]!.id }, w);
      await sleep(500);
    }
    evolvedDuringStream = (await versions(caseId)).length;
    expect(evolvedDuringStream).toBeGreaterThanOrEqual(1);
    // Every change is in exactly one evolution.
    const all = await eventually(() => versions(caseId), (v) => v.reduce((n, x) => n + totalOf(x), 0) === 12);
    expect(evidenceFor(all.at(-1)!)).toHaveLength(12);
  });

  it('evolves again for a change that arrives during an evolution', async () => {
    const { caseId, items, link } = await caseWithEvidence(2);
    let inFirst: () => void = () => {};
    const firstStarted = new Promise<void>((r) => (inFirst = r));
    stack.scripts.set(caseId, { before: async (attempt) => { if (attempt === 1) { inFirst(); await sleep(2000); } } });
    const w = windows(300, 10_000);
    await link(0);
    await stack.tell(caseId, { kind: 'evidence-added', id: items[0]!.id }, w);
    await firstStarted;
    await link(1);
    await stack.tell(caseId, { kind: 'evidence-added', id: items[1]!.id }, w);
    const [first, second] = await waitForVersions(caseId, 2);
    expect(first!.changes).toMatchObject({ total: 1, sample: [{ id: items[0]!.id }] });
    expect(second!.changes).toMatchObject({ total: 1, sample: [{ id: items[1]!.id }] });
    expect(evidenceFor(second!)).toHaveLength(2);
  });
});

describe('the run', () => {
  it('continues as new after each evolution without losing a change sent around it', async () => {
    const { caseId, items, link } = await caseWithEvidence(20);
    const w = windows(250, 800);
    for (let i = 0; i < 20; i++) {
      await link(i);
      await stack.tell(caseId, { kind: 'evidence-added', id: items[i]!.id }, w, { maxEvolutionsPerRun: 1 });
      await sleep(120);
    }
    const all = await eventually(() => versions(caseId), (v) => v.reduce((n, x) => n + totalOf(x), 0) >= 20);
    expect(all.reduce((n, x) => n + totalOf(x), 0)).toBe(20);
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(new Set(evidenceFor(all.at(-1)!))).toEqual(new Set(items.map((e) => e.id)));
    // Each evolution ended its run (maxEvolutionsPerRun: 1); visibility catches up eventually.
    const continued = async () => {
      let n = 0;
      for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${workflowIds.evolveBrief(caseId)}"` })) {
        if (run.status.name === 'CONTINUED_AS_NEW') n++;
      }
      return n;
    };
    await eventually(continued, (n) => n >= all.length, 10_000);
  });

  it('closes when idle, and the next change starts a new run', async () => {
    const { caseId } = await caseWithEvidence(0);
    const w = windows(200, 1000, 800);
    await stack.tell(caseId, { kind: 'document-completed', id: randomUUID() }, w);
    await waitForVersions(caseId, 1);
    const handle = stack.client.workflow.getHandle(workflowIds.evolveBrief(caseId));
    const closed = await eventually(() => handle.describe(), (d) => d.status.name === 'COMPLETED', 10_000);
    await stack.tell(caseId, { kind: 'document-completed', id: randomUUID() }, w);
    await waitForVersions(caseId, 2);
    const reopened = await stack.client.workflow.getHandle(workflowIds.evolveBrief(caseId)).describe();
    expect(reopened.runId).not.toBe(closed.runId);
  });

  it('cancels the evolution in progress, not the run; its changes join the next window', async () => {
    const title = `slow ${randomUUID()}`;
    const { caseId } = await caseWithEvidence(0, title);
    stack.hanging.add(title);
    const w = windows(200, 1000);
    await stack.tell(caseId, { kind: 'signals-extracted', id: randomUUID() }, w);
    await eventually(async () => stack.attempts.get(caseId) ?? 0, (n) => n >= 1);
    const handle = stack.client.workflow.getHandle(workflowIds.evolveBrief(caseId));
    await handle.signal(cancelEvolutionSignal);
    // The attempt learns it at its next heartbeat, and its model call is aborted.
    await eventually(async () => stack.aborted, (a) => a.includes(title), 20_000);
    expect(await versions(caseId)).toEqual([]);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    stack.hanging.delete(title);
    await stack.tell(caseId, { kind: 'signals-extracted', id: randomUUID() }, w);
    const [first] = await waitForVersions(caseId, 1);
    expect(first!.changes).toMatchObject({ total: 2, counts: { 'signals-extracted': 2 } });
    expect(stack.attempts.get(caseId)).toBe(2);
  });
});
