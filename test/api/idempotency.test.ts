/**
 * T8 idempotent-start and the rest of `Idempotency-Key` (DESIGN.md Decision 12): one
 * effect and identical answers for concurrent duplicates, 422 for another body, a wait
 * (then 409) while the first is in flight, and a retry allowed after a 5xx.
 */
import { Client, Connection } from '@temporalio/client';
import Fastify, { type FastifyReply } from 'fastify';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { idempotencyKeys, messages, threads } from '../../activities/db/schema/index.js';
import { commitAnswer, createIdempotency, type IdempotencyOptions } from '../../api/idempotency.js';
import { canonicalJson } from '../../api/idempotency-key.js';
import { call, createThread, startApi, threadTurns, type ApiHarness } from './harness.js';
import { deadlineExceeded, faultyClient } from './fake-temporal.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApi();
});

afterAll(async () => {
  await h?.close();
});

const withKey = (key: string) => ({ 'idempotency-key': key });
const rowsOf = async (threadId: string) => h.database.db.select().from(messages).where(eq(messages.threadId, threadId));

describe('Idempotency-Key on POST /v1/threads/:threadId/messages', () => {
  it('20 concurrent identical requests: one message row, one turn, identical answers', async () => {
    const thread = await createThread(h.app, h.alice);
    const request = { method: 'POST' as const, url: `/v1/threads/${thread.id}/messages`, payload: { content: 'once' }, headers: withKey('k-20') };
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(h.app, h.alice, request)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(202));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(19);
    expect(await rowsOf(thread.id)).toHaveLength(1);
    expect(await threadTurns(h.database, thread.id)).toBe(1);
    const later = await call(h.app, h.alice, request);
    expect(later.body).toBe(answers[0]!.body);
  });

  it('the same key with another body or on another thread: 422, nothing written', async () => {
    const thread = await createThread(h.app, h.alice);
    const other = await createThread(h.app, h.alice);
    const url = `/v1/threads/${thread.id}/messages`;
    expect((await call(h.app, h.alice, { method: 'POST', url, payload: { content: 'a' }, headers: withKey('k-422') })).statusCode).toBe(202);
    const changed = await call(h.app, h.alice, { method: 'POST', url, payload: { content: 'b' }, headers: withKey('k-422') });
    expect(changed.statusCode).toBe(422);
    expect(changed.json()).toMatchObject({ statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    const elsewhere = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${other.id}/messages`, payload: { content: 'a' }, headers: withKey('k-422') });
    expect(elsewhere.statusCode).toBe(422);
    expect(await rowsOf(thread.id)).toHaveLength(1);
    expect(await rowsOf(other.id)).toHaveLength(0);
  });

  it('is scoped to the caller: another user\'s identical key is independent', async () => {
    const mine = await createThread(h.app, h.alice);
    const theirs = await createThread(h.app, h.bob);
    const a = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads', payload: { title: 'x' }, headers: withKey('shared') });
    const b = await call(h.app, h.bob, { method: 'POST', url: '/v1/threads', payload: { title: 'x' }, headers: withKey('shared') });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
    expect(mine.id).not.toBe(theirs.id);
  });

  it('rejects a malformed key', async () => {
    const res = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads', payload: {}, headers: withKey('x'.repeat(256)) });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('idempotency-key');
  });

  it('frees the key after a 5xx, so the retry goes through', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    await connection.close();
    const down = await h.buildSibling({ temporal: new Client({ connection }) });
    const thread = await createThread(h.app, h.alice);
    const request = { method: 'POST' as const, url: `/v1/threads/${thread.id}/messages`, payload: { content: 'retry me' }, headers: withKey('k-5xx') };
    expect((await call(down, h.alice, request)).statusCode).toBe(503);
    const claims = await h.database.db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.userId, h.alice.id), eq(idempotencyKeys.key, 'k-5xx')));
    expect(claims).toHaveLength(0);
    const retry = await call(h.app, h.alice, request);
    expect(retry.statusCode).toBe(202);
    expect((await rowsOf(thread.id)).map((m) => m.status).sort()).toEqual(['failed', 'pending']);
  });
});

describe('a message that may have been delivered', () => {
  it('keeps its key: the first answer is the 202 of the pending message, and a retry replays it', async () => {
    const fake = faultyClient(h.env.client, { lands: () => true, failure: () => deadlineExceeded() });
    const unsure = await h.buildSibling({ temporal: fake.client });
    const thread = await createThread(h.app, h.alice);
    const request = { method: 'POST' as const, url: `/v1/threads/${thread.id}/messages`, payload: { content: 'once only' }, headers: withKey('k-landed') };
    const first = await call(unsure, h.alice, request);
    expect(first.statusCode).toBe(202);
    const retry = await call(h.app, h.alice, request);
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toBe(first.body);
    expect((await rowsOf(thread.id)).map((m) => m.status)).toEqual(['pending']);
  });
});

describe('createIdempotency', () => {
  async function slowApp(waitMs: number) {
    const app = Fastify();
    const hooks = createIdempotency(h.database.db, { waitMs });
    let runs = 0;
    app.addHook('onRequest', async (request) => {
      request.user = { id: h.alice.id, name: h.alice.name, isAdmin: false };
    });
    app.post('/slow', { ...hooks }, async (_request, reply) => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 600));
      return reply.code(202).send({ run: runs });
    });
    return { app, runs: () => runs };
  }

  it('a duplicate waits for the first answer while it is in flight', async () => {
    const { app, runs } = await slowApp(5_000);
    const request = { method: 'POST' as const, url: '/slow', payload: { a: 1 }, headers: withKey('wait-1') };
    const [first, second] = await Promise.all([app.inject(request), app.inject(request)]);
    expect(first.body).toBe(second.body);
    expect(runs()).toBe(1);
    await app.close();
  });

  it('answers 409 once the wait runs out', async () => {
    const { app, runs } = await slowApp(150);
    const request = { method: 'POST' as const, url: '/slow', payload: { a: 1 }, headers: withKey('wait-2') };
    const [first, second] = await Promise.all([app.inject(request), app.inject(request)]);
    expect([first.statusCode, second.statusCode].sort()).toEqual([202, 409]);
    expect(runs()).toBe(1);
    await app.close();
  });

  /** A bare app whose requests are alice's, with the hooks on `path`. */
  function keyedApp(options: IdempotencyOptions = {}) {
    const app = Fastify();
    app.decorateRequest('idempotencyClaim', null);
    app.addHook('onRequest', async (request) => {
      request.user = { id: h.alice.id, name: h.alice.name, isAdmin: false };
    });
    return { app, hooks: createIdempotency(h.database.db, options) };
  }

  it('a 5xx after the route committed its effect keeps that effect\'s answer for the retry', async () => {
    const { app, hooks } = keyedApp();
    let runs = 0;
    app.post('/committed', { ...hooks }, async (request) => {
      runs++;
      await h.database.db.transaction((tx) => commitAnswer(tx, request, 202, { run: runs }));
      throw new Error('failed after the commit');
    });
    const request = { method: 'POST' as const, url: '/committed', payload: { a: 1 }, headers: withKey('committed-1') };
    expect((await app.inject(request)).statusCode).toBe(500);
    const retry = await app.inject(request);
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual({ run: 1 });
    expect(runs).toBe(1);
    await app.close();
  });

  it('a 5xx after a transaction that rolled back frees the key: the answer it named was never committed', async () => {
    const { app, hooks } = keyedApp();
    let runs = 0;
    app.post('/rolled-back', { ...hooks }, async (request, reply) => {
      if (++runs > 1) return reply.code(202).send({ run: runs });
      await h.database.db.transaction(async (tx) => {
        await commitAnswer(tx, request, 202, { run: runs });
        throw new Error('the transaction fails after naming its answer');
      });
    });
    const request = { method: 'POST' as const, url: '/rolled-back', payload: { a: 1 }, headers: withKey('rolled-back-1') };
    expect((await app.inject(request)).statusCode).toBe(500);
    const retry = await app.inject(request);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.json()).toEqual({ run: 2 });
    await app.close();
  });

  it('a claim whose owner committed and then died is adopted once stale: its committed answer is replayed, nothing runs twice', async () => {
    const { app, hooks } = keyedApp({ waitMs: 5_000, staleMs: 100 });
    let runs = 0;
    app.post('/dies', { ...hooks }, async (request, reply) => {
      const run = ++runs;
      await h.database.db.transaction((tx) => commitAnswer(tx, request, 202, { run }));
      // The owner "dies": it answers nothing until long after the duplicate came.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return reply.code(200).send({ run, late: true });
    });
    const request = { method: 'POST' as const, url: '/dies', payload: { a: 1 }, headers: withKey('dies-1') };
    const owner = app.inject(request);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const duplicate = await app.inject(request);
    expect(duplicate.statusCode).toBe(202);
    expect(duplicate.headers['idempotent-replayed']).toBe('true');
    expect(duplicate.json()).toEqual({ run: 1 });
    expect((await owner).json()).toEqual({ run: 1, late: true });
    expect((await app.inject(request)).json()).toEqual({ run: 1 });
    expect(runs).toBe(1);
    await app.close();
  });

  it('an owner whose stale claim was taken over cannot commit under it: its transaction fails and writes nothing', async () => {
    const { app, hooks } = keyedApp({ waitMs: 5_000, staleMs: 100 });
    const title = `lost-claim-${Date.now()}`;
    let runs = 0;
    app.post('/lost', { ...hooks }, async (request, reply) => {
      const run = ++runs;
      if (run === 1) await new Promise((resolve) => setTimeout(resolve, 700));
      const created = await h.database.db.transaction(async (tx) => {
        const [row] = await tx.insert(threads).values({ userId: h.alice.id, title }).returning({ id: threads.id });
        await commitAnswer(tx, request, 201, { id: row!.id, run });
        return { id: row!.id, run };
      });
      return reply.code(201).send(created);
    });
    const request = { method: 'POST' as const, url: '/lost', payload: { a: 1 }, headers: withKey('lost-1') };
    const stale = app.inject(request);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const takeover = await app.inject(request);
    expect(takeover.json()).toMatchObject({ run: 2 });
    expect((await stale).statusCode).toBe(409);
    const rows = await h.database.db.select({ id: threads.id }).from(threads).where(eq(threads.title, title));
    expect(rows).toEqual([{ id: takeover.json().id }]);
    expect((await app.inject(request)).json()).toEqual(takeover.json());
    await app.close();
  });

  /** A first request that outlives its claim (stale after 100 ms), then answers `late`. */
  async function takeoverApp(late: (reply: FastifyReply) => FastifyReply) {
    const app = Fastify();
    const hooks = createIdempotency(h.database.db, { waitMs: 5_000, staleMs: 100 });
    let runs = 0;
    app.addHook('onRequest', async (request) => {
      request.user = { id: h.alice.id, name: h.alice.name, isAdmin: false };
    });
    app.post('/takeover', { ...hooks }, async (_request, reply) => {
      const run = ++runs;
      if (run > 1) return reply.code(202).send({ run });
      await new Promise((resolve) => setTimeout(resolve, 700));
      return late(reply);
    });
    return app;
  }

  for (const [label, late] of [
    ['late answer', (reply: FastifyReply) => reply.code(202).send({ run: 1 })],
    ['late 5xx', (reply: FastifyReply) => reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'late' })],
  ] as const) {
    it(`a stale owner's ${label} does not overwrite the answer of the request that took its claim over`, async () => {
      const app = await takeoverApp(late);
      const request = { method: 'POST' as const, url: '/takeover', payload: { a: 1 }, headers: withKey(`takeover-${label.replace(' ', '-')}`) };
      const stale = app.inject(request);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const takeover = await app.inject(request);
      expect(takeover.json()).toEqual({ run: 2 });
      await stale;
      const replay = await app.inject(request);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual({ run: 2 });
      await app.close();
    });
  }

  it('hashes bodies canonically', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });
});

describe('old claims', () => {
  const claim = (key: string, values: Partial<typeof idempotencyKeys.$inferInsert>) =>
    h.database.db.insert(idempotencyKeys).values({ userId: h.alice.id, route: 'POST /v1/threads', key, requestHash: 'other', ...values });

  it('an answer older than 24 h is forgotten: the key starts afresh', async () => {
    await claim('k-old', { responseStatus: 201, responseBody: { id: 'stale' }, createdAt: new Date(Date.now() - 25 * 3600_000) });
    const res = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads', payload: { title: 'new' }, headers: withKey('k-old') });
    expect(res.statusCode).toBe(201);
    expect(res.json().title).toBe('new');
  });

  it('a claim left in flight by a dead process is taken over once stale', async () => {
    await claim('k-dead', { createdAt: new Date(Date.now() - 10 * 60_000) });
    const res = await call(h.app, h.alice, { method: 'POST', url: '/v1/threads', payload: {}, headers: withKey('k-dead') });
    expect(res.statusCode).toBe(201);
  });
});
