/**
 * `Idempotency-Key` for starting POSTs (API.md "Runs and events", DESIGN.md Decision 12).
 * A key is scoped to (caller, method + route pattern, key). The first request claims the
 * row and its answer is stored when it is sent; a duplicate with the same body replays
 * that answer, waiting (up to `waitMs`) while the first is in flight; another body under
 * the same key is a 422. A 5xx answer deletes the row, so a retry can go through.
 *
 * Routes opt in by spreading the hooks into their options: `{ schema, ...idempotency }`.
 */
import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../activities/db/client.js';
import { idempotencyKeys } from '../activities/db/schema/index.js';
import { HttpError, badRequest, conflict } from './errors.js';

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

interface Scope {
  userId: string;
  route: string;
  key: string;
}

type Outcome =
  | { kind: 'claimed' }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'timeout' };

const HEADER = 'idempotency-key';
/** Printable ASCII, bounded: a key is an opaque client token (a UUID in practice). */
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;
const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

/** The header as documented in OpenAPI: put it in `schema.headers` of a route that spreads the hooks. */
export const idempotencyHeaders = {
  type: 'object',
  properties: {
    [HEADER]: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'Repeat a request safely: the same key and body within 24 h returns the first answer and starts nothing new',
    },
  },
} as const;

/** JSON with sorted object keys, so the same request always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function requestHash(request: FastifyRequest): string {
  const material = canonicalJson({ params: request.params ?? {}, body: request.body ?? null });
  return createHash('sha256').update(material).digest('hex');
}

function readScope(request: FastifyRequest): Scope | undefined {
  const key = request.headers[HEADER];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !VALID_KEY.test(key)) {
    throw badRequest('headers/idempotency-key', 'must be 1-255 printable ASCII characters');
  }
  return { userId: request.user.id, route: `${request.method} ${request.routeOptions.url}`, key };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createIdempotency(db: Db, options: IdempotencyOptions = {}): IdempotencyHooks {
  const waitMs = options.waitMs ?? 10_000;
  const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
  const staleMs = options.staleMs ?? 5 * 60 * 1000;
  const owned = new WeakMap<FastifyRequest, Scope>();
  const where = (s: Scope) =>
    and(eq(idempotencyKeys.userId, s.userId), eq(idempotencyKeys.route, s.route), eq(idempotencyKeys.key, s.key));

  /** Inserts the claim, or takes over a row that expired or whose owner died; true if ours. */
  async function tryClaim(scope: Scope, hash: string): Promise<boolean> {
    const claimed = await db
      .insert(idempotencyKeys)
      .values({ ...scope, requestHash: hash })
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.route, idempotencyKeys.key],
        set: { requestHash: hash, responseStatus: null, responseBody: null, createdAt: sql`now()` },
        setWhere: sql`${idempotencyKeys.createdAt} < now() - make_interval(secs => ${ttlMs / 1000})
          or (${idempotencyKeys.responseStatus} is null
              and ${idempotencyKeys.createdAt} < now() - make_interval(secs => ${staleMs / 1000}))`,
      })
      .returning({ key: idempotencyKeys.key });
    return claimed.length > 0;
  }

  async function claimOrWait(scope: Scope, hash: string): Promise<Outcome> {
    const deadline = Date.now() + waitMs;
    for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 1.5, MAX_POLL_MS)) {
      if (await tryClaim(scope, hash)) return { kind: 'claimed' };
      const [row] = await db.select().from(idempotencyKeys).where(where(scope));
      // No row: the first request answered a 5xx meanwhile and freed the key; claim it next turn.
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
    const outcome = await claimOrWait(scope, requestHash(request));
    switch (outcome.kind) {
      case 'claimed':
        owned.set(request, scope);
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

  /** Stores the answer as sent (after the error handler), or frees the key on a 5xx. */
  async function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const scope = owned.get(request);
    if (!scope) return payload;
    owned.delete(request);
    try {
      if (reply.statusCode >= 500) {
        await db.delete(idempotencyKeys).where(where(scope));
      } else {
        const body = typeof payload === 'string' && payload.length > 0 ? (JSON.parse(payload) as unknown) : null;
        await db
          .update(idempotencyKeys)
          .set({ responseStatus: reply.statusCode, responseBody: body })
          .where(where(scope));
      }
    } catch (err) {
      // The answer still goes out; the claim goes stale and a later duplicate takes it over.
      request.log.error({ err, idempotencyKey: scope.key }, 'could not record the idempotent answer');
    }
    return payload;
  }

  return { preHandler, onSend };
}
