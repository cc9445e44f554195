/**
 * Errors classified where they happen (DESIGN.md rule 4). Transient failures (connection,
 * timeout) are rethrown as they are, so Temporal retries them; everything else becomes a
 * non-retryable `ApplicationFailure` with a type from `workflows/types.ts`.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ErrorType } from '../workflows/types.js';

export function failure(type: ErrorType, message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, cause: cause instanceof Error ? cause : undefined });
}

export const notFound = (what: string) => failure('NotFound', `${what} not found`);

/** SQLSTATE classes that no retry can fix: data exceptions, integrity, syntax/access. */
const PERMANENT_SQLSTATE_CLASSES = ['22', '23', '42'];

/** Maps a thrown error to what Temporal should do with it. */
export function classify(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && PERMANENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))) {
    return failure('DatabaseError', `database rejected the write: ${(err as Error).message}`, err);
  }
  return err;
}

/** Wraps every function of an activity object so its errors are classified. */
export function withClassifiedErrors<T extends Record<string, (...args: never[]) => Promise<unknown>>>(acts: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(acts)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw classify(err);
      }
    };
  }
  return wrapped as T;
}

/** A readable one-line reason from a failure, for a user-facing message. */
export function readableError(err: unknown): string {
  let current: unknown = err;
  while (current && typeof current === 'object' && 'cause' in current && (current as { cause?: unknown }).cause) {
    current = (current as { cause?: unknown }).cause;
  }
  return current instanceof Error ? current.message : String(current);
}
