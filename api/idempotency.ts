/**
 * `Idempotency-Key` for starting POSTs (API.md "Runs and events", DESIGN.md Decision 12).
 * A key is scoped to (caller, method + route pattern, key). The first request claims the
 * row and its answer is stored when it is sent; a duplicate with the same body replays
 * that answer, waiting (up to `waitMs`) while the first is in flight; another body under
 * the same key is a 422. A "try again later" answer (5xx, 429) frees the key only if the
 * route wrote nothing: see `recordCommittedAnswer`.
 *
 * Routes opt in by spreading the hooks into their options (`RouteDeps.startingPost`).
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../activities/db/client.js';
import { idempotencyKeys } from '../activities/db/schema/index.js';
import { HttpError, conflict } from './errors.js';
import { readScope, requestHash, type Scope } from './idempotency-key.js';

export interface IdempotencyOptions {
  /** How long a duplicate waits for the first request's answer before a 409. */
  waitMs?: number;
  /** How long an answer is replayed. */
  ttlMs?: number;
  /** An in-flight claim older than this belongs to a process that died: take it over. */
  staleMs?: number;
}

export interface IdempotencyHooks {
  preHandler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  onSend: (request: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>;
}

export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** The claim a request holds: `token` is the row's `created_at` (as exact text) when it was claimed. */
interface Claim {
  scope: Scope;
  hash: string;
  token: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set through `recordCommittedAnswer` once the route's write committed. */
    committedAnswer: StoredAnswer | null;
  }
}

/**
 * A route calls this once its transaction committed, with the answer that effect stands
 * for. If the request then ends in a 5xx (the hand-off, a sync wait or the reply itself
 * failed), the key keeps that answer instead of being freed: a retry with the key learns
 * what its first request did (say, the 202 of the message it stored, which the conversation
 * may already have) rather than doing it twice or replaying an error it cannot act on.
 */
export function recordCommittedAnswer(request: FastifyRequest, status: number, body: unknown): void {
  request.committedAnswer = { status, body };
}

/** The committed effect was undone (a message failed because it was never delivered): a 5xx frees the key again. */
export function withdrawCommittedAnswer(request: FastifyRequest): void {
  request.committedAnswer = null;
}

/** Answers that tell the client to try again later, so the key must not keep them. */
const isRetryLater = (status: number): boolean => status >= 500 || status === 429;

type Outcome =
  | { kind: 'claimed'; token: string }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'timeout' };

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createIdempotency(db: Db, options: IdempotencyOptions = {}): IdempotencyHooks {
  const waitMs = options.waitMs ?? 10_000;
  const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
  const staleMs = options.staleMs ?? 5 * 60 * 1000;
  const owned = new WeakMap<FastifyRequest, Claim>();
  const where = (s: Scope) =>
    and(eq(idempotencyKeys.userId, s.userId), eq(idempotencyKeys.route, s.route), eq(idempotencyKeys.key, s.key));
  /** The row as this request claimed it: not after a stale takeover, whose new owner's answer must stand. */
  const stillOurs = (claim: Claim) =>
    and(
      where(claim.scope),
      eq(idempotencyKeys.requestHash, claim.hash),
      sql`${idempotencyKeys.createdAt} = ${claim.token}::timestamptz`,
      isNull(idempotencyKeys.responseStatus),
    );

  /** Inserts the claim, or takes over a row that expired or whose owner died; its token if ours. */
  async function tryClaim(scope: Scope, hash: string): Promise<string | undefined> {
    const [claimed] = await db
      .insert(idempotencyKeys)
      .values({ ...scope, requestHash: hash })
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.route, idempotencyKeys.key],
        set: { requestHash: hash, responseStatus: null, responseBody: null, createdAt: sql`now()` },
        setWhere: sql`${idempotencyKeys.createdAt} < now() - make_interval(secs => ${ttlMs / 1000})
          or (${idempotencyKeys.responseStatus} is null
              and ${idempotencyKeys.createdAt} < now() - make_interval(secs => ${staleMs / 1000}))`,
      })
      // As text, microseconds and all: a JS Date would round it to milliseconds and never match again.
      .returning({ token: sql<string>`${idempotencyKeys.createdAt}::text` });
    return claimed?.token;
  }

  async function claimOrWait(scope: Scope, hash: string): Promise<Outcome> {
    const deadline = Date.now() + waitMs;
    for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 1.5, MAX_POLL_MS)) {
      const token = await tryClaim(scope, hash);
      if (token) return { kind: 'claimed', token };
      const [row] = await db.select().from(idempotencyKeys).where(where(scope));
      // No row: the first request answered "try again later" having written nothing, which freed the key; claim it next turn.
      if (row) {
        if (row.requestHash !== hash) return { kind: 'mismatch' };
        if (row.responseStatus !== null) return { kind: 'replay', status: row.responseStatus, body: row.responseBody };
      }
      if (Date.now() >= deadline) return { kind: 'timeout' };
      await sleep(delay);
    }
  }

  async function preHandler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const scope = readScope(request);
    if (!scope) return undefined;
    const hash = requestHash(request);
    const outcome = await claimOrWait(scope, hash);
    switch (outcome.kind) {
      case 'claimed':
        owned.set(request, { scope, hash, token: outcome.token });
        return undefined;
      case 'mismatch':
        throw new HttpError(422, 'this Idempotency-Key was already used with a different request', 'IDEMPOTENCY_KEY_REUSED');
      case 'timeout':
        throw conflict(`the first request with this Idempotency-Key is still in flight after ${waitMs} ms: retry later`);
      case 'replay':
        void reply.code(outcome.status).header('idempotent-replayed', 'true').send(outcome.body);
        return reply;
    }
  }

  /** What the key keeps for this answer; undefined: free the key (nothing was written, try again later). */
  function answerToKeep(request: FastifyRequest, reply: FastifyReply, payload: unknown): StoredAnswer | undefined {
    if (isRetryLater(reply.statusCode)) return request.committedAnswer ?? undefined;
    const body = typeof payload === 'string' && payload.length > 0 ? (JSON.parse(payload) as unknown) : null;
    return { status: reply.statusCode, body };
  }

  /** Stores the answer as sent (after the error handler), or frees the key; only while the claim is still ours. */
  async function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const claim = owned.get(request);
    if (!claim) return payload;
    owned.delete(request);
    try {
      const answer = answerToKeep(request, reply, payload);
      const written = answer
        ? await db
            .update(idempotencyKeys)
            .set({ responseStatus: answer.status, responseBody: answer.body })
            .where(stillOurs(claim))
            .returning({ key: idempotencyKeys.key })
        : await db.delete(idempotencyKeys).where(stillOurs(claim)).returning({ key: idempotencyKeys.key });
      if (written.length === 0) {
        request.log.warn({ idempotencyKey: claim.scope.key }, 'the Idempotency-Key claim was taken over meanwhile; this answer is not recorded');
      }
    } catch (err) {
      // The answer still goes out; the claim goes stale and a later duplicate takes it over.
      request.log.error({ err, idempotencyKey: claim.scope.key }, 'could not record the idempotent answer');
    }
    return payload;
  }

  return { preHandler, onSend };
}
