/**
 * Bearer API keys (DESIGN.md Decision 4). A key is shown once and stored as its SHA-256
 * hash, so a lookup by hash is the comparison (no key is ever compared in the clear).
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../activities/db/client.js';
import { apiKeys, users } from '../activities/db/schema/index.js';
import type { ErrorBody } from './errors.js';

export interface AuthUser {
  id: string;
  name: string;
  isAdmin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser;
  }
}

export const DEV_USER_NAME = 'dev';
const KEY_PREFIX = 'cw_';
/** Enough of a key for an operator to tell keys apart, too little to guess the rest. */
const STORED_PREFIX_CHARS = 8;
/** A revoked key stops working within this long; a cache spares one query per request. */
const CACHE_TTL_MS = 5_000;
const CACHE_MAX_ENTRIES = 1_000;

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Creates the user by name if new (an existing one is only ever promoted to admin). */
async function upsertUser(db: Db, name: string, admin: boolean): Promise<string> {
  const [row] = await db
    .insert(users)
    .values({ name, isAdmin: admin })
    .onConflictDoUpdate({ target: users.name, set: { isAdmin: sql`${users.isAdmin} or excluded.is_admin` } })
    .returning({ id: users.id });
  if (!row) throw new Error(`could not create user ${name}`);
  return row.id;
}

/** A new key for the user (created if needed). The plaintext key exists only in the return value. */
export async function createUserWithKey(
  db: Db,
  options: { name: string; admin: boolean },
): Promise<{ userId: string; key: string }> {
  const userId = await upsertUser(db, options.name, options.admin);
  const key = generateApiKey();
  await db.insert(apiKeys).values({ userId, keyHash: hashApiKey(key), prefix: key.slice(0, STORED_PREFIX_CHARS) });
  return { userId, key };
}

/** The dev user (admin) owns the configured dev key; running it again creates nothing. */
export async function ensureDevKey(db: Db, devKey: string): Promise<{ userId: string; created: boolean }> {
  const userId = await upsertUser(db, DEV_USER_NAME, true);
  const inserted = await db
    .insert(apiKeys)
    .values({ userId, keyHash: hashApiKey(devKey), prefix: devKey.slice(0, STORED_PREFIX_CHARS) })
    .onConflictDoNothing({ target: apiKeys.keyHash })
    .returning({ id: apiKeys.id });
  return { userId, created: inserted.length > 0 };
}

/** The owner of a live (not revoked) key, by the key's hash. */
export async function findUserByKeyHash(db: Db, keyHash: string): Promise<AuthUser | undefined> {
  const [row] = await db
    .select({ id: users.id, name: users.name, isAdmin: users.isAdmin })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/openapi.json', '/docs']);

/**
 * Decided on the route that matched, not the raw URL, so no spelling of a path (`//`,
 * `..`, encodings) reaches a private route as a public one. Unmatched paths need a key.
 */
export function isPublicRoute(routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return false;
  return PUBLIC_ROUTES.has(routeUrl) || routeUrl.startsWith('/docs/');
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

function createKeyCache(): { get(key: string): AuthUser | undefined; set(key: string, user: AuthUser): void } {
  const entries = new Map<string, { user: AuthUser; expiresAt: number }>();
  return {
    get(key) {
      const hit = entries.get(key);
      if (hit && hit.expiresAt > Date.now()) return hit.user;
      entries.delete(key);
      return undefined;
    },
    set(key, user) {
      if (entries.size >= CACHE_MAX_ENTRIES) entries.clear();
      entries.set(key, { user, expiresAt: Date.now() + CACHE_TTL_MS });
    },
  };
}

const unauthorized: ErrorBody = {
  statusCode: 401,
  error: 'Unauthorized',
  message: 'missing or invalid API key: send Authorization: Bearer <key>',
  code: 'UNAUTHORIZED',
};

/** The onRequest hook that sets `request.user` on every route but the public ones. */
export function createAuthHook(db: Db): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const cache = createKeyCache();
  const lookup = async (keyHash: string): Promise<AuthUser | undefined> => {
    const cached = cache.get(keyHash);
    if (cached) return cached;
    const user = await findUserByKeyHash(db, keyHash);
    if (user) cache.set(keyHash, user);
    return user;
  };
  return async (request, reply) => {
    if (isPublicRoute(request.routeOptions.url)) return;
    const token = bearerToken(request.headers.authorization);
    const user = token ? await lookup(hashApiKey(token)) : undefined;
    if (!user) {
      void reply.code(401).header('www-authenticate', 'Bearer').send(unauthorized);
      return reply;
    }
    request.user = user;
  };
}
