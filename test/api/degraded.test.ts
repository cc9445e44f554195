/**
 * What the gateway does when a dependency is down (Temporal closed or unreachable,
 * Postgres unreachable), and sync mode, where a test stands in for the worker.
 */
import { request as httpRequest } from 'node:http';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { Client, Connection } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../activities/db/client.js';
import { messages } from '../../activities/db/schema/index.js';
import { buildApp } from '../../api/app.js';
import { freePort } from '../helpers/temporal-server.js';
import { eventually } from '../helpers/chat.js';
import { call, countingDb, createThread, defaultChat, startApi, TEST_RATE_LIMIT_PER_MINUTE, type ApiHarness } from './harness.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApi();
});

afterAll(async () => {
  await h?.close();
});

async function closedClient(): Promise<Client> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  await connection.close();
  return new Client({ connection });
}

async function userMessages(threadId: string) {
  return h.database.db.select().from(messages).where(and(eq(messages.threadId, threadId), eq(messages.role, 'user')));
}

describe('Temporal down', () => {
  it('a closed connection: 503, and the message is failed, not pending', async () => {
    const down = await h.buildSibling({ temporal: await closedClient() });
    const thread = await createThread(h.app, h.alice);
    const res = await call(down, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'lost?' } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ statusCode: 503, code: 'SERVICE_UNAVAILABLE' });
    const [row] = await userMessages(thread.id);
    expect(row).toMatchObject({ status: 'failed', content: 'lost?' });
    expect(row!.metadata.error).toEqual(expect.stringContaining('unavailable'));
    expect(row!.metadata.correlationId).toEqual(expect.any(String));

    const ready = await down.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', checks: { temporal: 'down', postgres: 'ok' } });
    expect(ready.json().message).toContain('temporal');
  });

  // The SDK retries UNAVAILABLE inside the call until the deadline, so the answer cannot
  // tell "never connected" from "sent, then the connection dropped": the message may have
  // been delivered, stays pending, and the redelivery job sends it once Temporal is back.
  it('an unreachable server: 202 with the message pending, answered within the hand-off budget', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const down = await h.buildSibling({ temporal: new Client({ connection }) });
    const thread = await createThread(h.app, h.alice);
    const started = Date.now();
    const res = await call(down, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'hello?' } });
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ workflowId: `chat-${thread.id}`, message: { status: 'pending', content: 'hello?' } });
    expect((await userMessages(thread.id)).map((m) => m.status)).toEqual(['pending']);
  }, 30_000);
});

describe('Postgres down', () => {
  it('/readyz names postgres', async () => {
    const dead = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`, { connectTimeoutS: 1 });
    const app = await buildApp({
      db: dead.db,
      sql: dead.sql,
      temporal: h.env.client,
      embedder: createLocalEmbedder(256),
      config: { queues: h.queues, chat: defaultChat, bodyLimitBytes: 1024, rateLimitPerMinute: TEST_RATE_LIMIT_PER_MINUTE },
    });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ checks: { temporal: 'ok', postgres: 'down' }, message: 'not ready: postgres down' });
    const authed = await app.inject({ method: 'GET', url: '/v1/events', headers: { authorization: `Bearer ${h.alice.key}` } });
    expect(authed.statusCode).toBe(500);
    expect(authed.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error', code: 'INTERNAL' });
    await app.close();
    await dead.close();
  });
});

/** Plays the worker: answers the thread's next pending user message after `delayMs`. */
async function answerLater(threadId: string, delayMs: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const [pending] = (await userMessages(threadId)).filter((m) => m.status === 'pending');
    if (pending) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const [reply] = await h.database.db
        .insert(messages)
        .values({ threadId, role: 'assistant', content: 'the answer', status: 'complete', metadata: { answers: [pending.id] } })
        .returning();
      await h.database.db.update(messages).set({ status: 'complete', replyId: reply!.id }).where(eq(messages.id, pending.id));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no pending message to answer');
}

describe('sync mode', () => {
  it('waits for the reply and answers 200 { message, reply }', async () => {
    const sync = await h.buildSibling({ config: { chat: { ...defaultChat, syncResponses: true, syncTimeoutMs: 5_000 } } });
    const thread = await createThread(h.app, h.alice);
    const [res] = await Promise.all([
      call(sync, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'question' } }),
      answerLater(thread.id, 100),
    ]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      message: { content: 'question', status: 'complete' },
      reply: { role: 'assistant', content: 'the answer', status: 'complete', threadId: thread.id },
    });
  });

  it('stops polling for the reply when the client disconnects', async () => {
    const counted = countingDb(h.database.db);
    const sync = await h.buildSibling({ db: counted.db, config: { chat: { ...defaultChat, syncResponses: true, syncTimeoutMs: 20_000 } } });
    const thread = await createThread(h.app, h.alice);
    const url = new URL(`/v1/threads/${thread.id}/messages`, await sync.listen({ port: 0, host: '127.0.0.1' }));
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { authorization: `Bearer ${h.alice.key}`, 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ content: 'is anyone there?' }));
    await eventually(() => h.database.db.select().from(messages).where(eq(messages.threadId, thread.id)), (rows) => rows.length === 1);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const waiting = counted.selects();
    await sleep(200);
    expect(counted.selects(), 'it polls while the client waits').toBeGreaterThan(waiting + 5);

    req.destroy();
    await sleep(200);
    const afterLeaving = counted.selects();
    await sleep(500);
    expect(counted.selects() - afterLeaving, 'polls after the client left').toBe(0);
  });

  it('answers 202 as in async mode when no reply comes in time', async () => {
    const sync = await h.buildSibling({ config: { chat: { ...defaultChat, syncResponses: true, syncTimeoutMs: 300 } } });
    const thread = await createThread(h.app, h.alice);
    const res = await call(sync, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'anyone?' } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ workflowId: `chat-${thread.id}`, message: { status: 'pending' } });
  });
});
