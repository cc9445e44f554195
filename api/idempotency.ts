/**
 * `Idempotency-Key` for starting POSTs (API.md "Runs and events", DESIGN.md Decision 12).
 * A key is scoped to (caller, method + route pattern, key). The first request claims the
 * row; a duplicate with the same body replays its answer, waiting (up to `waitMs`) while the
 * first is in flight; another body under the same key is a 422. A "try again later" answer
 * (5xx, 429) frees the key only if the route wrote nothing.
 *
 * What a route wrote survives the gateway: the route calls `commitAnswer` in the very
 * transaction that commits its effect, so the row holds that effect's answer from the same
 * commit on (`{ committed: { status, body } }` in `response_body` while `response_status` is
 * null: still in flight). The answer actually sent replaces it in `onSend`. A claim left in
 * flight by a dead gateway is taken over once stale (`staleMs`): if it holds a committed
 * answer, that answer becomes the key's answer and is replayed (nothing runs twice); if not,
 * nothing was written under it and the duplicate runs the route afresh. Every write a
 * request makes to its row is guarded by the claim still being its own, so a stale owner
 * never overwrites its successor's answer, nor commits an effect under a key it lost.
 *
 * Routes opt in by spreading the hooks into their options (`RouteDeps.startingPost`).
 */
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../activities/db/client.js';
import { idempotencyKeys } from '../activities/db/schema/index.js';
import type { Queryable } from '../activities/events.js';
import { HttpError, conflict } from './errors.js';
import { IDEMPOTENCY_TTL_MS } from '../workers/config.js';
import { readScope, requestHash, type Scope } from './idempotency-key.js';

export interface IdempotencyOptions {
  /** How long a duplicate waits for the first request's answer before a 409. */
  waitMs?: number;
  /** How long an answer is replayed. */
  ttlMs?: number;
  /** An in-flight claim older than this belongs to a process that died: take it over. */
  staleMs?: number;
  /**
   * Test-only (the gateway crash test): runs once the route committed its effect, before its
   * answer is stored or sent. `api/server.ts` sets it to kill the process there.
   */
  afterCommit?: (request: FastifyRequest) => void;
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
  /** The route called `commitAnswer` (its transaction may still have rolled back: the row says). */
  committed: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The `Idempotency-Key` claim of this request, set by the preHandler; null without the header. */
    idempotencyClaim: Claim | null;
  }
}

const where = (s: Scope) => and(eq(idempotencyKeys.userId, s.userId), eq(idempotencyKeys.route, s.route), eq(idempotencyKeys.key, s.key));

/** The row as this request claimed it: not after a stale takeover, whose new owner's answer must stand. */
const stillOurs = (claim: Claim) =>
  and(
    where(claim.scope),
    eq(idempotencyKeys.requestHash, claim.hash),
    sql`${idempotencyKeys.createdAt} = ${claim.token}::timestamptz`,
    isNull(idempotencyKeys.responseStatus),
  );

/** The committed answer's place in an in-flight row's `response_body`. */
const committedStatus = sql`(${idempotencyKeys.responseBody} -> 'committed' ->> 'status')::int`;
const committedBody = sql`${idempotencyKeys.responseBody} -> 'committed' -> 'body'`;

/**
 * A route calls this inside the transaction that commits its effect, with the answer that
 * effect stands for. If the request then ends in a 5xx (the hand-off, a sync wait or the
 * reply itself failed) or the gateway dies, the key keeps that answer instead of being freed:
 * a retry with the key learns what its first request did (say, the 202 of the message it
 * stored, which the conversation may already have) rather than doing it twice. A claim that
 * is no longer this request's (a duplicate took it over as stale) fails the transaction: no
 * effect is committed under a key someone else owns.
 */
export async function commitAnswer(tx: Queryable, request: FastifyRequest, status: number, body: unknown): Promise<void> {
  const claim = request.idempotencyClaim;
  if (!claim) return;
  const held = await tx
    .update(idempotencyKeys)
    .set({ responseBody: { committed: { status, body } } })
    .where(stillOurs(claim))
    .returning({ key: idempotencyKeys.key });
  if (held.length === 0) throw conflict('a later request with this Idempotency-Key took it over: retry to get its answer');
  claim.committed = true;
}

/**
 * The committed effect was undone (a message failed because it was never delivered), in the
 * transaction that undoes it: a 5xx frees the key again, for the client's resend.
 */
export async function withdrawAnswer(tx: Queryable, request: FastifyRequest): Promise<void> {
  const claim = request.idempotencyClaim;
  if (!claim) return;
  await tx.update(idempotencyKeys).set({ responseBody: null }).where(stillOurs(claim));
  claim.committed = false;
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
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS;
  const staleMs = options.staleMs ?? 5 * 60 * 1000;
  const expired = sql`${idempotencyKeys.createdAt} < now() - make_interval(secs => ${ttlMs / 1000})`;
  const stale = sql`(${idempotencyKeys.responseStatus} is null and ${idempotencyKeys.createdAt} < now() - make_interval(secs => ${staleMs / 1000}))`;

  /** Inserts the claim, or takes over a row that expired or whose dead owner committed nothing; its token if ours. */
  async function tryClaim(scope: Scope, hash: string): Promise<string | undefined> {
    const [claimed] = await db
      .insert(idempotencyKeys)
      .values({ ...scope, requestHash: hash })
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.route, idempotencyKeys.key],
        set: { requestHash: hash, responseStatus: null, responseBody: null, createdAt: sql`now()` },
        setWhere: sql`${expired} or (${stale} and ${idempotencyKeys.responseBody} is null)`,
      })
      // As text, microseconds and all: a JS Date would round it to milliseconds and never match again.
      .returning({ token: sql<string>`${idempotencyKeys.createdAt}::text` });
    return claimed?.token;
  }

  /** A stale claim whose dead owner committed an effect: its committed answer becomes the key's answer. */
  async function adoptCommitted(scope: Scope): Promise<StoredAnswer | undefined> {
    const [adopted] = await db
      .update(idempotencyKeys)
      .set({ responseStatus: committedStatus, responseBody: committedBody })
      .where(and(where(scope), stale, isNotNull(idempotencyKeys.responseBody)))
      .returning({ status: idempotencyKeys.responseStatus, body: idempotencyKeys.responseBody });
    return adopted ? { status: adopted.status!, body: adopted.body } : undefined;
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
        const adopted = row.responseBody !== null && Date.now() - row.createdAt.getTime() >= staleMs ? await adoptCommitted(scope) : undefined;
        if (adopted) return { kind: 'replay', ...adopted };
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
        request.idempotencyClaim = { scope, hash, token: outcome.token, committed: false };
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

  /**
   * "Try again later": the key keeps the committed answer if the route's transaction left
   * one in the row, and is freed if it did not (nothing was written).
   */
  async function keepCommittedOrFree(claim: Claim): Promise<number> {
    if (claim.committed) {
      const kept = await db
        .update(idempotencyKeys)
        .set({ responseStatus: committedStatus, responseBody: committedBody })
        .where(and(stillOurs(claim), isNotNull(idempotencyKeys.responseBody)))
        .returning({ key: idempotencyKeys.key });
      if (kept.length > 0) return kept.length;
    }
    const freed = await db
      .delete(idempotencyKeys)
      .where(and(stillOurs(claim), isNull(idempotencyKeys.responseBody)))
      .returning({ key: idempotencyKeys.key });
    return freed.length;
  }

  async function storeSent(claim: Claim, status: number, payload: unknown): Promise<number> {
    const body = typeof payload === 'string' && payload.length > 0 ? (JSON.parse(payload) as unknown) : null;
    const written = await db
      .update(idempotencyKeys)
      .set({ responseStatus: status, responseBody: body })
      .where(stillOurs(claim))
      .returning({ key: idempotencyKeys.key });
    return written.length;
  }

  /** Stores the answer as sent (after the error handler), or keeps the committed one, or frees the key; only while the claim is ours. */
  async function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const claim = request.idempotencyClaim;
    if (!claim) return payload;
    request.idempotencyClaim = null;
    if (claim.committed) options.afterCommit?.(request);
    try {
      const written = isRetryLater(reply.statusCode) ? await keepCommittedOrFree(claim) : await storeSent(claim, reply.statusCode, payload);
      if (written === 0) {
        request.log.warn({ idempotencyKey: claim.scope.key }, 'the Idempotency-Key claim was taken over meanwhile; this answer is not recorded');
      }
    } catch (err) {
      // The answer still goes out; the claim goes stale and a later duplicate takes it over (or adopts what was committed).
      request.log.error({ err, idempotencyKey: claim.scope.key }, 'could not record the idempotent answer');
    }
    return payload;
  }

  return { preHandler, onSend };
}
