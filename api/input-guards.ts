/**
 * Text PostgreSQL cannot store: U+0000 (neither `text` nor `jsonb` holds it, so it would
 * surface as a 500 from the database). One hook on every route rejects it in path
 * parameters, the query string and the body as a 400 naming the field, before schema
 * validation: no route's schema can forget it, and it also covers what no schema types
 * (free-form objects, object keys).
 */
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const NUL = '\u0000';

/** The path of the first string (or object key) that holds a NUL; undefined if none. Iterative: a deep body cannot overflow the stack. */
export function findNul(root: unknown): string[] | undefined {
  const pending: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (typeof value === 'string') {
      if (value.includes(NUL)) return path;
    } else if (value && typeof value === 'object') {
      const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
      const badKey = entries.find(([key]) => key.includes(NUL));
      if (badKey) return [...path, badKey[0]];
      // Reversed onto the stack, so fields are looked at in their order.
      for (const [key, child] of entries.reverse()) pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

/** A `preValidation` hook: the field is named as validation errors name theirs (`content`, `type`). */
export async function rejectNulCharacters(request: FastifyRequest): Promise<void> {
  const parts = [['params', request.params], ['querystring', request.query], ['body', request.body]] as const;
  for (const [context, value] of parts) {
    const path = findNul(value);
    if (!path) continue;
    const field = path.length > 0 ? path.join('/') : context;
    const where = path.length > 0 ? `${context}/${field}` : context;
    throw new HttpError(400, `${where} must not contain the NUL character (U+0000)`, 'FST_ERR_VALIDATION', field);
  }
}
