/**
 * What identifies an `Idempotency-Key` request: its scope (caller, method + route pattern,
 * key) and a hash of what it asks (path parameters and body, canonically serialised).
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { badRequest } from './errors.js';

export interface Scope {
  userId: string;
  route: string;
  key: string;
}

const HEADER = 'idempotency-key';
/** Printable ASCII, bounded: a key is an opaque client token (a UUID in practice). */
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

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

export function requestHash(request: FastifyRequest): string {
  const material = canonicalJson({ params: request.params ?? {}, body: request.body ?? null });
  return createHash('sha256').update(material).digest('hex');
}

export function readScope(request: FastifyRequest): Scope | undefined {
  const key = request.headers[HEADER];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !VALID_KEY.test(key)) {
    throw badRequest('headers/idempotency-key', 'must be 1-255 printable ASCII characters');
  }
  return { userId: request.user.id, route: `${request.method} ${request.routeOptions.url}`, key };
}
