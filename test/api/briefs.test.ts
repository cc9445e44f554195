/**
 * The brief through the gateway: the empty version 0, the latest and an earlier version with
 * the annotations as they stood then, the summary a case shows, a person resolving an
 * annotation (idempotent, 404 for another user's), the cancel route sending `cancelEvolution`
 * to a brief's run, and an attach telling the case's brief. No worker: versions are rows
 * written here, and runs are read from their histories.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalBriefChanged } from '../../activities/briefs/client.js';
import { briefAnnotations, briefs, type BriefSection } from '../../activities/db/schema/index.js';
import { workflowIds } from '../../workflows/types.js';
import { windows } from '../helpers/brief-stack.js';
import { call, createThread, insertCase, startApi, type ApiHarness, type TestUser } from './harness.js';

const BRIEF_WINDOWS = windows(4321, 54_321, 600_000);
let h: ApiHarness;

beforeAll(async () => {
  h = await startApi({ brief: BRIEF_WINDOWS });
});
afterAll(() => h?.close());

const get = (user: TestUser, url: string) => call(h.app, user, { method: 'GET', url });
const post = (user: TestUser, url: string, payload?: object) => call(h.app, user, { method: 'POST', url, ...(payload ? { payload } : {}) });

const section = (key: string, grounding: number): BriefSection => ({ key, title: key, text: `${key} text`, items: [], grounding });

/** A case with versions 1 and 2 and three annotations: resolved at 2, created at 2, a critique's from 1. */
async function caseWithBrief(user: TestUser) {
  const caseId = await insertCase(h.database, user.id);
  await h.database.db.insert(briefs).values([
    { caseId, version: 1, sections: [section('summary', 0.2)], grounding: 0.2, evolutionKey: randomUUID(), changes: { total: 3 } },
    { caseId, version: 2, sections: [section('summary', 0.6)], grounding: 0.6, evolutionKey: randomUUID(), changes: { total: 1 } },
  ]);
  const annotation = (v: Partial<typeof briefAnnotations.$inferInsert>) => ({
    caseId, source: 'brief' as const, kind: 'unsupported-claim', causeKey: randomUUID(), sectionKey: 'key-claims', message: 'm', createdInVersion: 1, ...v,
  });
  const [fixed, fresh, critique] = await h.database.db
    .insert(briefAnnotations)
    .values([
      annotation({ message: 'fixed at 2', resolvedInVersion: 2, resolvedBy: 'evolution', resolvedAt: new Date() }),
      annotation({ message: 'new at 2', createdInVersion: 2 }),
      annotation({ message: 'a critique', source: 'critique', kind: 'weak-argument' }),
    ])
    .returning();
  return { caseId, fixed: fixed!, fresh: fresh!, critique: critique! };
}

describe('GET /v1/cases/:caseId/brief', () => {
  it('answers an empty version 0 before any evolution, and a case shows no brief', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const res = await get(h.alice, `/v1/cases/${caseId}/brief`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ caseId, version: 0, grounding: 0, changes: null, createdAt: null, annotations: [] });
    expect(body.sections.map((s: BriefSection) => [s.key, s.items.length, s.grounding])).toEqual(
      ['summary', 'key-claims', 'evidence-for', 'evidence-against', 'open-questions', 'risks'].map((k) => [k, 0, 0]),
    );
    expect((await get(h.alice, `/v1/cases/${caseId}`)).json().brief).toBeNull();
  });

  it('answers the latest version, or an earlier one, with the annotations as they stood then', async () => {
    const { caseId, fixed, fresh, critique } = await caseWithBrief(h.alice);
    const latest = (await get(h.alice, `/v1/cases/${caseId}/brief`)).json();
    expect(latest).toMatchObject({ version: 2, grounding: 0.6, changes: { total: 1 }, sections: [{ key: 'summary', grounding: 0.6 }] });
    const at = (body: { annotations: { id: string; status: string }[] }) => Object.fromEntries(body.annotations.map((a) => [a.id, a.status]));
    expect(at(latest)).toEqual({ [fixed.id]: 'resolved', [fresh.id]: 'open', [critique.id]: 'open' });
    expect(latest.annotations[latest.annotations.length - 1]).toMatchObject({ id: fixed.id, resolvedBy: 'evolution', resolvedInVersion: 2 });
    const first = (await get(h.alice, `/v1/cases/${caseId}/brief?version=1`)).json();
    expect(first).toMatchObject({ version: 1, grounding: 0.2, changes: { total: 3 } });
    expect(at(first)).toEqual({ [fixed.id]: 'open', [critique.id]: 'open' });
    expect(first.annotations.find((a: { id: string }) => a.id === fixed.id)).toMatchObject({ resolvedBy: null, resolvedAt: null });
    expect((await get(h.alice, `/v1/cases/${caseId}/brief?version=0`)).json()).toMatchObject({ version: 0, annotations: [] });
    expect((await get(h.alice, `/v1/cases/${caseId}/brief?version=3`)).statusCode).toBe(404);
    const tooLarge = await get(h.alice, `/v1/cases/${caseId}/brief?version=9999999999`);
    expect(tooLarge.statusCode).toBe(400);
    expect(tooLarge.json().field).toBe('version');
    expect((await get(h.bob, `/v1/cases/${caseId}/brief`)).statusCode).toBe(404);
  });

  it('shows the brief in short on the case: version, grounding, when, open annotations', async () => {
    const { caseId } = await caseWithBrief(h.alice);
    const { brief } = (await get(h.alice, `/v1/cases/${caseId}`)).json();
    expect(brief).toMatchObject({ version: 2, grounding: 0.6, openAnnotations: 2 });
    expect(Date.parse(brief.updatedAt)).not.toBeNaN();
  });
});

describe('POST …/brief/annotations/:annotationId/resolve', () => {
  it('resolves by a person at the latest version, once; another user\'s is 404', async () => {
    const { caseId, fresh } = await caseWithBrief(h.alice);
    const url = `/v1/cases/${caseId}/brief/annotations/${fresh.id}/resolve`;
    const res = await post(h.alice, url);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: fresh.id, status: 'resolved', resolvedBy: 'person', resolvedInVersion: 2 });
    const again = await post(h.alice, url);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(res.json());
    expect((await get(h.alice, `/v1/cases/${caseId}`)).json().brief.openAnnotations).toBe(1);

    expect((await post(h.bob, url)).statusCode).toBe(404);
    const bobsCase = await insertCase(h.database, h.bob.id);
    expect((await post(h.bob, `/v1/cases/${bobsCase}/brief/annotations/${fresh.id}/resolve`)).statusCode).toBe(404);
    const otherCase = await insertCase(h.database, h.alice.id);
    expect((await post(h.alice, `/v1/cases/${otherCase}/brief/annotations/${fresh.id}/resolve`)).statusCode).toBe(404);
  });
});

/** The signals a run's history holds, decoded. */
async function signalsOf(workflowId: string): Promise<{ name: string; args: unknown[] }[]> {
  const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((s) => s)
    .map((s) => ({ name: s!.signalName!, args: (s!.input?.payloads ?? []).map((p) => JSON.parse(Buffer.from(p.data!).toString())) }));
}

async function startInput(workflowId: string): Promise<Record<string, unknown>> {
  const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return JSON.parse(Buffer.from(started!.input!.payloads![0]!.data!).toString());
}

describe('the brief\'s run', () => {
  it('POST /v1/workflows/evolve-brief-<caseId>/cancel cancels the evolution in progress, not the run', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const workflowId = await signalBriefChanged(h.env.client, { caseId, userId: h.alice.id }, { kind: 'evidence-added', id: randomUUID() }, {
      queues: h.queues, brief: BRIEF_WINDOWS, deadline: Date.now() + 10_000,
    });
    const res = await post(h.alice, `/v1/workflows/${workflowId}/cancel`);
    expect(res.statusCode, res.body).toBe(202);
    expect((await signalsOf(workflowId)).map((s) => s.name)).toEqual(['briefChanged', 'cancelEvolution']);
    const description = await h.env.client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(false);
  });

  it('an attach tells the case\'s brief, with the gateway\'s windows', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const thread = await createThread(h.app, h.alice);
    expect((await post(h.alice, `/v1/threads/${thread.id}/case`, { caseId })).statusCode).toBe(200);
    const workflowId = workflowIds.evolveBrief(caseId);
    expect(await signalsOf(workflowId)).toEqual([{ name: 'briefChanged', args: [{ kind: 'thread-attached', id: thread.id }] }]);
    expect(await startInput(workflowId)).toMatchObject({ caseId, userId: h.alice.id, quietMs: 4321, maxWaitMs: 54_321, idleCloseMs: 600_000 });

    const other = await createThread(h.app, h.alice);
    const created = await post(h.alice, '/v1/cases', { title: 'with a thread', threadId: other.id });
    expect(created.statusCode).toBe(201);
    expect(await signalsOf(workflowIds.evolveBrief(created.json().id))).toEqual([{ name: 'briefChanged', args: [{ kind: 'thread-attached', id: other.id }] }]);
  });
});
