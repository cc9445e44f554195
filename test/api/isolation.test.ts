/**
 * A4 bola-matrix: user B (an admin, even) gets 404 on every one of user A's `:id` routes,
 * writes nothing there, and sees none of A's events. Plus the events filters and paging.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentSuggestions, messages, signals } from '../../activities/db/schema/index.js';
import { call, createThread, insertCase, insertEvent, startApi, threadTurns, type ApiHarness } from './harness.js';

let h: ApiHarness;
let thread: { id: string };
let suggestionId: string;
let caseId: string;

beforeAll(async () => {
  h = await startApi();
  caseId = await insertCase(h.database, h.alice.id);
  thread = await createThread(h.app, h.alice, { caseId });
  const posted = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'mine' } });
  expect(posted.statusCode).toBe(202);
  await h.database.db.insert(signals).values({ threadId: thread.id, type: 'goal', text: 'ship it', textHash: 'h1', confidence: 0.9, embedding: [0.1, 0.2] });
  const [suggestion] = await h.database.db
    .insert(agentSuggestions)
    .values({ threadId: thread.id, kind: 'agent', agentType: 'research', confidence: 0.9, reason: 'open questions', turn: 3 })
    .returning();
  suggestionId = suggestion!.id;
});

afterAll(async () => {
  await h?.close();
});

describe('another user', () => {
  it('gets 404 on every route of the thread, and writes nothing', async () => {
    const base = `/v1/threads/${thread.id}`;
    const routes: [string, string, object?][] = [
      ['GET', base],
      ['GET', `${base}/messages`],
      ['GET', `${base}/signals`],
      ['GET', `${base}/suggestions`],
      ['POST', `${base}/messages`, { content: 'not yours' }],
      ['POST', `${base}/suggestions/${suggestionId}/decline`],
      ['POST', `${base}/suggestions/${suggestionId}/accept`],
      ['GET', `/v1/workflows/chat-${thread.id}`],
      ['POST', `/v1/workflows/chat-${thread.id}/cancel`],
    ];
    for (const [method, url, payload] of routes) {
      const res = await call(h.app, h.bob, { method: method as 'GET' | 'POST', url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json(), `${method} ${url}`).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
    const foreignCase = await call(h.app, h.bob, { method: 'POST', url: '/v1/threads', payload: { caseId } });
    expect(foreignCase.statusCode).toBe(404);
    const rows = await h.database.db.select().from(messages).where(eq(messages.threadId, thread.id));
    expect(rows.map((m) => m.content)).toEqual(['mine']);
    expect(await threadTurns(h.database, thread.id)).toBe(1);
    const [suggestion] = await h.database.db.select().from(agentSuggestions).where(eq(agentSuggestions.id, suggestionId));
    expect(suggestion!.status).toBe('pending');
  });

  it('sees none of the owner\'s events, whatever the filter', async () => {
    await insertEvent(h.database, { userId: h.alice.id, type: 'MESSAGE', threadId: thread.id, caseId });
    const mine = await insertEvent(h.database, { userId: h.bob.id, type: 'MESSAGE' });
    for (const query of ['', `?threadId=${thread.id}`, `?caseId=${caseId}`, '?type=MESSAGE']) {
      const res = await call(h.app, h.bob, { method: 'GET', url: `/v1/events${query}` });
      expect(res.statusCode).toBe(200);
      const ids = res.json().events.map((e: { id: number }) => e.id);
      expect(ids.every((id: number) => id === mine), query).toBe(true);
    }
  });
});

describe('the owner', () => {
  it('reads messages, signals without embeddings, and suggestions', async () => {
    const base = `/v1/threads/${thread.id}`;
    const signalList = (await call(h.app, h.alice, { method: 'GET', url: `${base}/signals` })).json().signals;
    expect(signalList).toHaveLength(1);
    expect(signalList[0]).toMatchObject({ type: 'goal', text: 'ship it', status: 'active', temperature: 'warm' });
    expect(signalList[0]).not.toHaveProperty('embedding');
    expect(signalList[0]).not.toHaveProperty('textHash');
    const suggestions = (await call(h.app, h.alice, { method: 'GET', url: `${base}/suggestions` })).json().suggestions;
    expect(suggestions).toEqual([expect.objectContaining({ id: suggestionId, kind: 'agent', agentType: 'research', status: 'pending' })]);
  });
});

describe('GET /v1/events', () => {
  it('filters by thread, case, document and type, oldest first, and pages by id', async () => {
    const { alice } = h;
    const threadId = (await createThread(h.app, alice)).id;
    const documentId = crypto.randomUUID();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await insertEvent(h.database, { userId: alice.id, type: 'TICK', threadId }));
    const doc = await insertEvent(h.database, { userId: alice.id, type: 'DOCUMENT_DONE', documentId, caseId });

    const byThread = (await call(h.app, alice, { method: 'GET', url: `/v1/events?threadId=${threadId}` })).json();
    expect(byThread.events.map((e: { id: number }) => e.id)).toEqual(ids);
    expect(byThread.nextAfter).toBeNull();
    const byDocument = (await call(h.app, alice, { method: 'GET', url: `/v1/events?documentId=${documentId}` })).json();
    expect(byDocument.events).toEqual([expect.objectContaining({ id: doc, type: 'DOCUMENT_DONE', documentId, caseId, payload: { n: 1 } })]);
    const byType = (await call(h.app, alice, { method: 'GET', url: `/v1/events?type=DOCUMENT_DONE&caseId=${caseId}` })).json();
    expect(byType.events.map((e: { id: number }) => e.id)).toEqual([doc]);

    const page1 = (await call(h.app, alice, { method: 'GET', url: `/v1/events?threadId=${threadId}&limit=2` })).json();
    expect(page1.events.map((e: { id: number }) => e.id)).toEqual(ids.slice(0, 2));
    expect(page1.nextAfter).toBe(ids[1]);
    const page2 = (await call(h.app, alice, { method: 'GET', url: `/v1/events?threadId=${threadId}&limit=2&after=${page1.nextAfter}` })).json();
    expect(page2.events.map((e: { id: number }) => e.id)).toEqual(ids.slice(2, 4));
    const page3 = (await call(h.app, alice, { method: 'GET', url: `/v1/events?threadId=${threadId}&limit=2&after=${page2.nextAfter}` })).json();
    expect(page3.events.map((e: { id: number }) => e.id)).toEqual(ids.slice(4));
  });

  it('answers 400 naming the parameter for bad query values', async () => {
    const bad: [string, string][] = [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=abc', 'limit'],
      ['after=-1', 'after'],
      ['caseId=123', 'caseId'],
      ['threadId=x', 'threadId'],
      ['colour=red', 'colour'],
    ];
    for (const [query, field] of bad) {
      const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/events?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json(), query).toMatchObject({ field });
      expect(res.json().message, query).toContain(`querystring/${field}`);
    }
    expect((await call(h.app, h.alice, { method: 'GET', url: '/v1/events?limit=500' })).statusCode).toBe(200);
  });
});
