/**
 * What the gateway refuses before it does work (issue 11, defects 12 and 13): a user's
 * burst of starting POSTs past the per-minute limit, a thread's pending messages past the
 * cap, and text PostgreSQL cannot store (U+0000).
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKeys, messages } from '../../activities/db/schema/index.js';
import { call, createThread, defaultChat, startApi, threadTurns, type ApiHarness } from './harness.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApi();
});

afterAll(async () => {
  await h?.close();
});

const rowsOf = (threadId: string) => h.database.db.select().from(messages).where(eq(messages.threadId, threadId));
const send = (app: ApiHarness['app'], threadId: string, content: string, headers: Record<string, string> = {}) =>
  call(app, h.alice, { method: 'POST', url: `/v1/threads/${threadId}/messages`, payload: { content }, headers });

function expectTooMany(res: Awaited<ReturnType<typeof call>>, code: string): void {
  expect(res.statusCode).toBe(429);
  expect(res.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests', code, message: expect.any(String) });
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

describe('rate limit on starting POSTs', () => {
  it('a burst past the per-minute limit answers 429 with Retry-After; other users and reads are unaffected', async () => {
    const limited = await h.buildSibling({ config: { rateLimitPerMinute: 3 } });
    const thread = await createThread(h.app, h.alice);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await call(limited, h.alice, { method: 'POST', url: '/v1/threads', payload: {} })).statusCode);
    expect(answers).toEqual([201, 201, 201]);

    const over = await call(limited, h.alice, { method: 'POST', url: '/v1/threads', payload: {} });
    expectTooMany(over, 'RATE_LIMITED');
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
    // One budget per user over every starting POST, whatever the route.
    const starting = [
      { url: `/v1/threads/${thread.id}/messages`, payload: { content: 'hi' } },
      { url: `/v1/threads/${thread.id}/suggestions/${randomUUID()}/accept` },
      { url: `/v1/workflows/chat-${thread.id}/cancel` },
    ];
    for (const request of starting) expectTooMany(await call(limited, h.alice, { method: 'POST', ...request }), 'RATE_LIMITED');
    expect(await rowsOf(thread.id)).toHaveLength(0);

    expect((await call(limited, h.bob, { method: 'POST', url: '/v1/threads', payload: {} })).statusCode).toBe(201);
    expect((await call(limited, h.alice, { method: 'GET', url: `/v1/threads/${thread.id}` })).statusCode).toBe(200);
    const decline = await call(limited, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/suggestions/${randomUUID()}/decline` });
    expect(decline.statusCode).toBe(404);
  });
});

describe('pending messages per thread', () => {
  it('the 51st pending user message of a thread answers 429 with Retry-After and writes nothing', async () => {
    const thread = await createThread(h.app, h.alice);
    for (let i = 1; i <= defaultChat.maxPendingPerThread; i++) expect((await send(h.app, thread.id, `m${i}`)).statusCode).toBe(202);
    const over = await send(h.app, thread.id, 'one too many');
    expectTooMany(over, 'TOO_MANY_PENDING_MESSAGES');
    expect(over.json().message).toContain(String(defaultChat.maxPendingPerThread));
    expect(await rowsOf(thread.id)).toHaveLength(defaultChat.maxPendingPerThread);
    expect(await threadTurns(h.database, thread.id)).toBe(defaultChat.maxPendingPerThread);

    const other = await createThread(h.app, h.alice);
    expect((await send(h.app, other.id, 'elsewhere')).statusCode).toBe(202);
    const [first] = await rowsOf(thread.id);
    await h.database.db.update(messages).set({ status: 'complete' }).where(eq(messages.id, first!.id));
    expect((await send(h.app, thread.id, 'room again')).statusCode).toBe(202);
  });

  it('concurrent POSTs cannot overshoot the cap', async () => {
    const capped = await h.buildSibling({ config: { chat: { ...defaultChat, maxPendingPerThread: 4 } } });
    const thread = await createThread(h.app, h.alice);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => send(capped, thread.id, `c${i}`)));
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses).toEqual([...Array(4).fill(202), ...Array(8).fill(429)]);
    expect(await rowsOf(thread.id)).toHaveLength(4);
    expect(await threadTurns(h.database, thread.id)).toBe(4);
  });

  it('a 429 does not burn the Idempotency-Key: the retry after Retry-After goes through', async () => {
    const capped = await h.buildSibling({ config: { chat: { ...defaultChat, maxPendingPerThread: 1 } } });
    const thread = await createThread(h.app, h.alice);
    expect((await send(capped, thread.id, 'first')).statusCode).toBe(202);
    expectTooMany(await send(capped, thread.id, 'second', { 'idempotency-key': 'k-429' }), 'TOO_MANY_PENDING_MESSAGES');
    expect(await h.database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, 'k-429'))).toHaveLength(0);
    await h.database.db.update(messages).set({ status: 'complete' }).where(eq(messages.threadId, thread.id));
    const retry = await send(capped, thread.id, 'second', { 'idempotency-key': 'k-429' });
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('U+0000 (PostgreSQL text cannot hold it)', () => {
  it('answers 400 naming the field, in a body, a query string or a path, and writes nothing', async () => {
    const thread = await createThread(h.app, h.alice);
    const cases: [string, Parameters<typeof call>[2], string][] = [
      ['message content', { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'a\u0000b' } }, 'content'],
      ['thread title', { method: 'POST', url: '/v1/threads', payload: { title: 'x\u0000' } }, 'title'],
      ['query string', { method: 'GET', url: '/v1/events?type=a%00b' }, 'type'],
      ['path parameter', { method: 'GET', url: '/v1/workflows/chat-%00' }, 'workflowId'],
    ];
    for (const [label, request, field] of cases) {
      const res = await call(h.app, h.alice, request);
      expect(res.statusCode, label).toBe(400);
      expect(res.json(), label).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'FST_ERR_VALIDATION', field });
      expect(res.json().message, label).toContain(field);
    }
    expect(await rowsOf(thread.id)).toHaveLength(0);
    expect(await threadTurns(h.database, thread.id)).toBe(0);
  });
});
