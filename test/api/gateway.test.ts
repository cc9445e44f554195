/** The chat routes end to end through `inject`: auth, validation, storage, signal-with-start, runs, docs. */
import { Validator } from '@seriousme/openapi-schema-validator';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, messages, runProgress } from '../../activities/db/schema/index.js';
import { hashApiKey } from '../../api/auth.js';
import { caseIdKey, threadIdKey, userIdKey } from '../../workflows/search-attributes.js';
import { call, createThread, insertCase, startApi, TEST_BODY_LIMIT, threadTurns, type ApiHarness } from './harness.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApi();
});

afterAll(async () => {
  await h?.close();
});

const messageCount = async (threadId: string) =>
  (await h.database.db.select({ id: messages.id }).from(messages).where(eq(messages.threadId, threadId))).length;

describe('authentication', () => {
  it('answers 401 without a key, with an unknown key, another scheme or a revoked key', async () => {
    const url = '/v1/events';
    expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    const wrong = await h.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer cw_not_a_key' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized', code: 'UNAUTHORIZED' });
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    const basic = await h.app.inject({ method: 'GET', url, headers: { authorization: `Basic ${h.alice.key}` } });
    expect(basic.statusCode).toBe(401);

    const revoked = { ...h.alice, key: 'cw_revoked_key_for_the_test_0000000000' };
    await h.database.db.insert(apiKeys).values({ userId: h.alice.id, keyHash: hashApiKey(revoked.key), prefix: 'cw_revok', revokedAt: new Date() });
    expect((await call(h.app, revoked, { method: 'GET', url })).statusCode).toBe(401);
    expect((await call(h.app, h.alice, { method: 'GET', url })).statusCode).toBe(200);
  });

  it('leaves health, readiness and the docs open', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ok', checks: { temporal: 'ok', postgres: 'ok' } });
    const docs = await h.app.inject({ method: 'GET', url: '/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    const page = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    // A dot segment resolves to the private route itself, which needs a key like any other;
    // a doubled slash matches no route. Without a key each is exactly 401 (an unmatched path
    // needs a key too), never the public route's 200 and never a 500.
    const sneaky: [string, number][] = [
      ['/docs/../v1/events', 200],
      ['/docs/%2e%2e/v1/events', 200],
      ['//v1/events', 404],
      ['/healthz/../v1/events', 200],
    ];
    for (const [url, withKey] of sneaky) {
      const anonymous = await h.app.inject({ method: 'GET', url });
      expect(anonymous.statusCode, url).toBe(401);
      expect(anonymous.json(), url).toMatchObject({ code: 'UNAUTHORIZED' });
      expect((await call(h.app, h.alice, { method: 'GET', url })).statusCode, url).toBe(withKey);
    }
  });

  it('publishes an OpenAPI document generated from the routes', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    // API.md's routes that exist today, each with its method.
    const built: [string, string][] = [
      ['post', '/v1/threads'], ['get', '/v1/threads'], ['post', '/v1/threads/{threadId}/case'],
      ['get', '/v1/threads/{threadId}'], ['get', '/v1/threads/{threadId}/messages'], ['post', '/v1/threads/{threadId}/messages'],
      ['get', '/v1/threads/{threadId}/signals'], ['get', '/v1/threads/{threadId}/suggestions'],
      ['post', '/v1/threads/{threadId}/suggestions/{suggestionId}/accept'], ['post', '/v1/threads/{threadId}/suggestions/{suggestionId}/decline'],
      ['post', '/v1/cases'], ['get', '/v1/cases'], ['get', '/v1/cases/{caseId}'], ['get', '/v1/cases/{caseId}/search'],
      ['post', '/v1/cases/{caseId}/documents'], ['get', '/v1/documents/{documentId}'], ['post', '/v1/cases/{caseId}/urls'],
      ['post', '/v1/cases/{caseId}/agents/{agentType}'], ['get', '/v1/workflows/{workflowId}'],
      ['get', '/v1/workflows/{workflowId}/progress'], ['post', '/v1/workflows/{workflowId}/cancel'], ['get', '/v1/events'],
      ['get', '/healthz'], ['get', '/readyz'], ['get', '/v1/admin/schedules'],
    ];
    for (const [method, path] of built) expect(doc.paths[path], `${method} ${path}`).toHaveProperty(method);
  });

  it('publishes a valid OpenAPI 3 document', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors)?.slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
  });
});

describe('threads', () => {
  it('creates a thread, optionally on one of the caller\'s cases, and reads it back', async () => {
    const thread = await createThread(h.app, h.alice, { title: 'Pricing' });
    const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/threads/${thread.id}` });
    expect(res.json()).toMatchObject({ id: thread.id, title: 'Pricing', caseId: null, userTurns: 0 });
    const caseId = await insertCase(h.database, h.alice.id);
    expect((await createThread(h.app, h.alice, { caseId })).caseId).toBe(caseId);
  });

  it('refuses a case that is not the caller\'s, and bad input', async () => {
    const bobsCase = await insertCase(h.database, h.bob.id);
    const foreign = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads', payload: { caseId: bobsCase } });
    expect(foreign.statusCode).toBe(404);
    const unknown = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads', payload: { title: 't', owner: 'x' } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'FST_ERR_VALIDATION', field: 'owner' });
    expect(unknown.json().message).toContain('owner');
    const badCase = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads', payload: { caseId: 'nope' } });
    expect(badCase.json()).toMatchObject({ statusCode: 400, field: 'caseId' });
  });
});

describe('POST /v1/threads/:threadId/messages', () => {
  it('stores the message, bumps the turn and signal-with-starts chat-<threadId> with its search attributes', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const thread = await createThread(h.app, h.alice, { caseId });
    const res = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'Hello there' } });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.workflowId).toBe(`chat-${thread.id}`);
    expect(body.message).toMatchObject({ threadId: thread.id, role: 'user', content: 'Hello there', status: 'pending' });
    expect(Object.keys(body.message).sort()).toEqual(['content', 'createdAt', 'id', 'metadata', 'role', 'status', 'threadId']);
    expect(body.message.metadata.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await threadTurns(h.database, thread.id)).toBe(1);

    const description = await h.env.client.workflow.getHandle(body.workflowId).describe();
    expect(description.type).toBe('conversation');
    expect(description.taskQueue).toBe(h.queues.chat);
    expect(description.typedSearchAttributes.get(threadIdKey)).toBe(thread.id);
    expect(description.typedSearchAttributes.get(userIdKey)).toBe(h.alice.id);
    expect(description.typedSearchAttributes.get(caseIdKey)).toBe(caseId);
    expect(await description.staticSummary()).toBe(`Conversation of thread ${thread.id}`);

    const second = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'again' } });
    expect(second.statusCode).toBe(202);
    const history = await h.env.client.workflow.getHandle(body.workflowId).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'newMessage');
    expect(signals).toHaveLength(2);

    const list = await call(h.app, h.alice, { method: 'GET', url: `/v1/threads/${thread.id}/messages` });
    expect(list.json().messages.map((m: { content: string }) => m.content)).toEqual(['Hello there', 'again']);
  });

  it('omits CaseId for a thread without a case', async () => {
    const thread = await createThread(h.app, h.alice);
    await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'hi' } });
    const description = await h.env.client.workflow.getHandle(`chat-${thread.id}`).describe();
    expect(description.typedSearchAttributes.get(caseIdKey)).toBeUndefined();
  });

  it('answers 400 naming the field, and writes nothing, for bad input', async () => {
    const thread = await createThread(h.app, h.alice);
    const url = `/v1/threads/${thread.id}/messages`;
    const cases: [string, unknown, string][] = [
      ['empty', { content: '' }, 'content'],
      ['whitespace only', { content: ' \n\t ' }, 'content'],
      ['oversize', { content: 'x'.repeat(1_001) }, 'content'],
      ['unknown field', { content: 'hi', role: 'system' }, 'role'],
      ['wrong type', { content: 42 }, 'content'],
      ['missing', {}, 'content'],
      ['not an object', ['hi'], 'body'],
    ];
    for (const [label, payload, field] of cases) {
      const res = await call(h.app, h.alice, { method: 'POST', url, payload: payload as object });
      expect(res.statusCode, label).toBe(400);
      expect(res.json(), label).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'FST_ERR_VALIDATION', field });
      expect(res.json().message, label).toContain(field);
    }
    const malformed = await call(h.app, h.alice, { method: 'POST', url, payload: '{"content": "hi"', headers: { 'content-type': 'application/json' } });
    expect(malformed.statusCode).toBe(400);
    const tooLarge = await call(h.app, h.alice, { method: 'POST', url, payload: { content: 'x'.repeat(TEST_BODY_LIMIT + 1) } });
    expect(tooLarge.statusCode).toBe(413);
    const text = await call(h.app, h.alice, { method: 'POST', url, payload: 'hi', headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(415);
    expect(await messageCount(thread.id)).toBe(0);
    expect(await threadTurns(h.database, thread.id)).toBe(0);
  });

  it('answers 400 for a non-uuid thread id and 404 for an unknown one', async () => {
    const bad = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads/not-a-uuid/messages', payload: { content: 'hi' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'threadId' });
    const unknown = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${crypto.randomUUID()}/messages`, payload: { content: 'hi' } });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('runs', () => {
  it('describes the conversation with its latest progress, and 404s an unknown id', async () => {
    const thread = await createThread(h.app, h.alice);
    await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'hi' } });
    const workflowId = `chat-${thread.id}`;
    const { runId } = await h.env.client.workflow.getHandle(workflowId).describe();
    await h.database.db.insert(runProgress).values([
      { runId, workflowId, seq: 1, payload: { step: 'one' } },
      { runId, workflowId, seq: 2, payload: { step: 'two' } },
    ]);
    const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${workflowId}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ workflowId, type: 'conversation', status: 'RUNNING', closedAt: null, progress: { step: 'two' } });
    expect(res.json()).not.toHaveProperty('result');
    expect((await call(h.app, h.alice, { method: 'GET', url: '/v1/workflows/chat-unknown' })).statusCode).toBe(404);
    expect((await call(h.app, h.alice, { method: 'GET', url: '/v1/workflows/bad%20id' })).statusCode).toBe(400);
  });

  it('reports the failure of a run that was terminated', async () => {
    const thread = await createThread(h.app, h.alice);
    await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'hi' } });
    const workflowId = `chat-${thread.id}`;
    await h.env.client.workflow.getHandle(workflowId).terminate('stopped by the test');
    const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${workflowId}` });
    expect(res.json()).toMatchObject({ status: 'TERMINATED', failure: { message: expect.stringContaining('stopped by the test') } });
    expect(res.json().closedAt).toEqual(expect.any(String));
  });

  it('cancels the reply of a conversation by signal, not the conversation', async () => {
    const thread = await createThread(h.app, h.alice);
    await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'hi' } });
    const workflowId = `chat-${thread.id}`;
    const res = await call(h.app, h.alice, { method: 'POST', url: `/v1/workflows/${workflowId}/cancel` });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ workflowId });
    const handle = h.env.client.workflow.getHandle(workflowId);
    const history = await handle.fetchHistory();
    const names = (history.events ?? []).map((e) => e.workflowExecutionSignaledEventAttributes?.signalName).filter(Boolean);
    expect(names).toContain('cancelReply');
    expect((history.events ?? []).some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(false);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect((await call(h.app, h.alice, { method: 'POST', url: '/v1/workflows/chat-unknown/cancel' })).statusCode).toBe(404);
  });
});
