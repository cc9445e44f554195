/**
 * Cases (issue 12): create, list with overviews, read with counts, and attaching a thread,
 * which gives its signals the case id (Decision 22) and tells its running conversation.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases, signals, threads } from '../../activities/db/schema/index.js';
import { createUserWithKey } from '../../api/auth.js';
import { caseIdKey } from '../../workflows/search-attributes.js';
import { uniqueId } from '../helpers/temporal.js';
import { call, createThread, insertCase, startApi, type ApiHarness, type TestUser } from './harness.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApi();
});

afterAll(async () => {
  await h?.close();
});

const post = (user: TestUser, url: string, payload: object) => call(h.app, user, { method: 'POST', url, payload });
const get = (user: TestUser, url: string) => call(h.app, user, { method: 'GET', url });

async function createCase(user: TestUser, body: Record<string, unknown> = { title: 'Vendor choice' }) {
  const res = await post(user, '/v1/cases', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; counts: { threads: number; signals: number } }>();
}

async function addSignal(threadId: string, text: string, status: 'active' | 'archived' = 'active'): Promise<string> {
  const [row] = await h.database.db
    .insert(signals)
    .values({ threadId, type: 'goal', text, textHash: `hash-${text}`, confidence: 0.8, status })
    .returning({ id: signals.id });
  return row!.id;
}

const caseIdsOfSignals = async (threadId: string) =>
  (await h.database.db.select({ caseId: signals.caseId }).from(signals).where(eq(signals.threadId, threadId))).map((r) => r.caseId);

/** The caseAttached signals the conversation's history holds, by their case id. */
async function caseAttachedSignals(threadId: string): Promise<string[]> {
  const history = await h.env.client.workflow.getHandle(`chat-${threadId}`).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((s) => s?.signalName === 'caseAttached')
    .map((s) => JSON.parse(Buffer.from(s!.input!.payloads![0]!.data!).toString()).caseId as string);
}

describe('POST /v1/cases', () => {
  it('creates a case of the caller with counts and no brief yet', async () => {
    const res = await post(h.alice, '/v1/cases', { title: 'Vendor choice', description: 'Pick one', domain: 'procurement' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      title: 'Vendor choice', description: 'Pick one', domain: 'procurement', status: 'active', counts: { threads: 0, signals: 0 }, brief: null,
    });
    const [row] = await h.database.db.select().from(cases).where(eq(cases.id, res.json().id));
    expect(row!.userId).toBe(h.alice.id);
  });

  it('attaches the given thread at creation: its signals get the case id, its conversation is told', async () => {
    const thread = await createThread(h.app, h.alice);
    await post(h.alice, `/v1/threads/${thread.id}/messages`, { content: 'hello' });
    await addSignal(thread.id, 'ship by March');
    const created = await createCase(h.alice, { title: 'From chat', threadId: thread.id });
    expect(created.counts).toEqual({ threads: 1, signals: 1 });
    expect(await caseIdsOfSignals(thread.id)).toEqual([created.id]);
    expect((await get(h.alice, `/v1/threads/${thread.id}`)).json().caseId).toBe(created.id);
    expect(await caseAttachedSignals(thread.id)).toEqual([created.id]);
  });

  it('creates nothing when the thread is not the caller\'s (404) or already on a case (409)', async () => {
    const before = (await h.database.db.select().from(cases)).length;
    const bobs = await createThread(h.app, h.bob);
    expect((await post(h.alice, '/v1/cases', { title: 't', threadId: bobs.id })).statusCode).toBe(404);
    expect((await post(h.alice, '/v1/cases', { title: 't', threadId: randomUUID() })).statusCode).toBe(404);
    const onCase = await createThread(h.app, h.alice, { caseId: await insertCase(h.database, h.alice.id) });
    expect((await post(h.alice, '/v1/cases', { title: 't', threadId: onCase.id })).statusCode).toBe(409);
    expect((await h.database.db.select().from(cases)).length).toBe(before + 1);
  });

  it('refuses bad input naming the field', async () => {
    const bad: [object, string][] = [[{}, 'title'], [{ title: ' ' }, 'title'], [{ title: 't', owner: 'x' }, 'owner'], [{ title: 't', threadId: 'x' }, 'threadId']];
    for (const [payload, field] of bad) {
      const res = await post(h.alice, '/v1/cases', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({ field });
    }
  });
});

describe('GET /v1/cases and /v1/cases/:caseId', () => {
  it('lists only the caller\'s cases, oldest first, with counts of threads and active signals, paged', async () => {
    // A user of this test alone, so the list is exactly what it made.
    const name = uniqueId('carol');
    const { userId, key } = await createUserWithKey(h.database.db, { name, admin: false });
    const carol: TestUser = { id: userId, name, key };
    const own = [await createCase(carol, { title: 'b1' }), await createCase(carol, { title: 'b2' }), await createCase(carol, { title: 'b3' })];
    const thread = await createThread(h.app, carol);
    await addSignal(thread.id, 'active one');
    await addSignal(thread.id, 'archived one', 'archived');
    expect((await post(carol, `/v1/threads/${thread.id}/case`, { caseId: own[1]!.id })).statusCode).toBe(200);

    const all = (await get(carol, '/v1/cases')).json();
    expect(all.cases.map((c: { id: string }) => c.id)).toEqual(own.map((c) => c.id));
    expect(all.nextAfter).toBeNull();
    expect(all.cases[1].counts).toEqual({ threads: 1, signals: 1 });
    const first = (await get(carol, '/v1/cases?limit=2')).json();
    expect(first.cases.map((c: { title: string }) => c.title)).toEqual(['b1', 'b2']);
    const rest = (await get(carol, `/v1/cases?limit=2&after=${first.nextAfter}`)).json();
    expect(rest).toEqual({ cases: [expect.objectContaining({ title: 'b3' })], nextAfter: null });
    expect((await get(h.alice, '/v1/cases')).json().cases.every((c: { id: string }) => !own.some((o) => o.id === c.id))).toBe(true);
  });

  it('reads one case with its counts and brief: null; a foreign or unknown id is 404', async () => {
    const created = await createCase(h.alice, { title: 'One' });
    const res = await get(h.alice, `/v1/cases/${created.id}`);
    expect(res.json()).toMatchObject({ id: created.id, title: 'One', counts: { threads: 0, signals: 0 }, brief: null });
    expect((await get(h.bob, `/v1/cases/${created.id}`)).statusCode).toBe(404);
    expect((await get(h.alice, `/v1/cases/${randomUUID()}`)).statusCode).toBe(404);
    expect((await get(h.alice, '/v1/cases/not-a-uuid')).json()).toMatchObject({ statusCode: 400, field: 'caseId' });
  });
});

describe('POST /v1/threads/:threadId/case', () => {
  it('attaches in one go: the thread, its signals, and the running conversation; the same case again is 200', async () => {
    const thread = await createThread(h.app, h.alice);
    await post(h.alice, `/v1/threads/${thread.id}/messages`, { content: 'hello' });
    await addSignal(thread.id, 'budget is 10k');
    const target = await createCase(h.alice);
    const res = await post(h.alice, `/v1/threads/${thread.id}/case`, { caseId: target.id });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: thread.id, caseId: target.id, kind: 'chat' });
    expect(await caseIdsOfSignals(thread.id)).toEqual([target.id]);
    expect(await caseAttachedSignals(thread.id)).toEqual([target.id]);

    const again = await post(h.alice, `/v1/threads/${thread.id}/case`, { caseId: target.id });
    expect(again.statusCode).toBe(200);
    expect(again.json().caseId).toBe(target.id);
    const other = await createCase(h.alice);
    const moved = await post(h.alice, `/v1/threads/${thread.id}/case`, { caseId: other.id });
    expect(moved.statusCode).toBe(409);
    expect((await get(h.alice, `/v1/threads/${thread.id}`)).json().caseId).toBe(target.id);
  });

  it('concurrent attaches of one thread to different cases: one wins, the rest are 409', async () => {
    const thread = await createThread(h.app, h.alice);
    const targets = await Promise.all([1, 2, 3, 4].map(() => createCase(h.alice)));
    const answers = await Promise.all(targets.map((c) => post(h.alice, `/v1/threads/${thread.id}/case`, { caseId: c.id })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409, 409]);
    const winner = answers.find((a) => a.statusCode === 200)!.json().caseId;
    expect((await get(h.alice, `/v1/threads/${thread.id}`)).json().caseId).toBe(winner);
  });

  it('with no conversation open there is nothing to tell: the next message carries the case', async () => {
    const thread = await createThread(h.app, h.alice);
    const target = await createCase(h.alice);
    expect((await post(h.alice, `/v1/threads/${thread.id}/case`, { caseId: target.id })).statusCode).toBe(200);
    await expect(h.env.client.workflow.getHandle(`chat-${thread.id}`).describe()).rejects.toThrow();
    expect((await post(h.alice, `/v1/threads/${thread.id}/messages`, { content: 'now' })).statusCode).toBe(202);
    const description = await h.env.client.workflow.getHandle(`chat-${thread.id}`).describe();
    expect(description.typedSearchAttributes.get(caseIdKey)).toBe(target.id);
  });

  it('answers 404 for a foreign thread or case and changes nothing', async () => {
    const mine = await createThread(h.app, h.alice);
    const bobsThread = await createThread(h.app, h.bob);
    const bobsCase = await createCase(h.bob);
    const myCase = await createCase(h.alice);
    expect((await post(h.alice, `/v1/threads/${mine.id}/case`, { caseId: bobsCase.id })).statusCode).toBe(404);
    expect((await post(h.alice, `/v1/threads/${bobsThread.id}/case`, { caseId: myCase.id })).statusCode).toBe(404);
    expect((await post(h.alice, `/v1/threads/${mine.id}/case`, { caseId: randomUUID() })).statusCode).toBe(404);
    const rows = await h.database.db.select({ caseId: threads.caseId }).from(threads).where(eq(threads.id, mine.id));
    expect(rows[0]!.caseId).toBeNull();
    expect((await post(h.alice, `/v1/threads/${mine.id}/case`, {})).json()).toMatchObject({ statusCode: 400, field: 'caseId' });
  });
});
