/**
 * Errors classified where they happen (DESIGN.md rule 4 and Decision 28). Database failures
 * become `ApplicationFailure`s with a fixed sentence: drizzle's `DrizzleQueryError` message
 * carries the SQL and its parameters (user text), and an unclassified error's message would
 * reach the workflow history, the reply's degradations and `GET …/messages`. The details go
 * to the activity log instead. Every other error passes through as it is.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { DrizzleQueryError } from 'drizzle-orm';
import postgres from 'postgres';
import type { ErrorType } from '../workflows/types.js';

export function failure(type: ErrorType, message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, cause: cause instanceof Error ? cause : undefined });
}

export const notFound = (what: string) => failure('NotFound', `${what} not found`);

/**
 * SQLSTATE classes no retry can fix: 0A feature not supported, 20-2F (case not found,
 * cardinality such as 21000 "ON CONFLICT DO UPDATE … a second time", data exceptions,
 * integrity, cursor and statement names, triggered changes, authorization, routines),
 * 3D/3F unknown database or schema, 42 syntax or access, 44 check option, P0 raised by
 * PL/pgSQL. Class 25 stays retryable: 25006 is what a standby answers during a failover.
 */
const PERMANENT_CLASSES = new Set(['0A', '20', '21', '22', '23', '24', '26', '27', '28', '2B', '2D', '2F', '3D', '3F', '42', '44', 'P0']);
/** Class 40 is a rollback a retry heals (40001 serialization, 40P01 deadlock), except this one. */
const PERMANENT_CODES = new Set(['40002']);
/** The write classes get a sentence that says so. */
const WRITE_CLASSES = new Set(['21', '23', '27', '44']);
/** 08 connection exception, 53 insufficient resources (53300 too many connections). */
const UNAVAILABLE_CLASSES = new Set(['08', '53']);
/** The server shutting down, crashed, or still starting. */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03']);
/**
 * Socket errors from Node and postgres.js's own connection errors. Every other client an
 * activity uses translates its own failures (llm/errors.ts), so one arriving here untranslated
 * is the database's (a `BEGIN` is not wrapped by drizzle, so its socket error comes bare).
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
]);
/** postgres.js refusing a query before sending it: a bug or a misconfiguration, never healed by a retry. */
const DRIVER_REFUSALS = new Set([
  'UNDEFINED_VALUE', 'MAX_PARAMETERS_EXCEEDED', 'NOT_TAGGED_CALL', 'UNSAFE_TRANSACTION', 'COPY_IN_PROGRESS', 'SASL_SIGNATURE_MISMATCH',
]);

type DatabaseFailureType = Extract<ErrorType, 'DatabaseError' | 'DatabaseUnavailable' | 'DatabaseTransient'>;

interface DatabaseFailure {
  type: DatabaseFailureType;
  /** A fixed sentence: a SQLSTATE or a driver code at most, never SQL, parameters or the server's text. */
  message: string;
}

/** A server error by its SQLSTATE; what is neither permanent nor an outage (serialization, deadlock, timeouts) is transient. */
function fromSqlState(code: string): DatabaseFailure {
  const cls = code.slice(0, 2);
  if (PERMANENT_CLASSES.has(cls) || PERMANENT_CODES.has(code)) {
    const what = WRITE_CLASSES.has(cls) || code === '40002' ? 'the write' : cls === '22' ? 'a value' : 'the statement';
    return { type: 'DatabaseError', message: `the database rejected ${what} (SQLSTATE ${code})` };
  }
  if (UNAVAILABLE_CLASSES.has(cls) || UNAVAILABLE_CODES.has(code)) {
    return { type: 'DatabaseUnavailable', message: `the database is unreachable (SQLSTATE ${code})` };
  }
  if (code === '57014') return { type: 'DatabaseTransient', message: 'the database statement timed out (SQLSTATE 57014)' };
  return { type: 'DatabaseTransient', message: `the database could not complete the statement (SQLSTATE ${code})` };
}

function isPostgresError(e: Error): e is postgres.PostgresError {
  return (e instanceof postgres.PostgresError || e.name === 'PostgresError') && /^[0-9A-Z]{5}$/.test(String((e as { code?: unknown }).code));
}

/** The error and its causes (and an AggregateError's members: Node's dual-stack connect). */
function chainOf(err: unknown): Error[] {
  const chain: Error[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && chain.length < 10) {
    const e = queue.shift();
    if (!(e instanceof Error) || chain.includes(e)) continue;
    chain.push(e);
    queue.push(e.cause, ...(e instanceof AggregateError ? e.errors : []));
  }
  return chain;
}

/** What a database error means, or null when the error is not the database's. */
export function databaseFailure(err: unknown): DatabaseFailure | null {
  const chain = chainOf(err);
  for (const e of chain) {
    if (isPostgresError(e)) return fromSqlState(e.code);
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (UNREACHABLE_CODES.has(code)) return { type: 'DatabaseUnavailable', message: `the database is unreachable (${code})` };
    if (DRIVER_REFUSALS.has(code)) return { type: 'DatabaseError', message: `the database driver refused the query (${code})` };
  }
  // Wrapped, but nothing we know underneath (a value the driver could not serialise, say):
  // retryable, as Temporal treats unknown errors; the retry policy bounds the attempts.
  if (chain.some((e) => e instanceof DrizzleQueryError)) return { type: 'DatabaseTransient', message: 'the database query failed' };
  return null;
}

/** True when the database could not be reached: hold the work and retry (Decision 28). Takes raw or classified errors. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof ApplicationFailure) return err.type === 'DatabaseUnavailable';
  return databaseFailure(err)?.type === 'DatabaseUnavailable';
}

/** Maps a thrown error to what Temporal should do with it; an `ApplicationFailure` is already decided. */
export function classify(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  const db = databaseFailure(err);
  if (!db) return err;
  // No cause: it would carry the SQL and the parameters into the history.
  return ApplicationFailure.create({ type: db.type, message: db.message, nonRetryable: db.type === 'DatabaseError' });
}

/** The running activity's logger; none when called outside an activity (a test, a script). */
export function activityLog() {
  try {
    return Context.current().log;
  } catch {
    return undefined;
  }
}

/** The whole story of a database error, for operators: the SQL, the parameters, the server's detail. */
function logDatabaseError(activity: string, err: unknown, classified: ApplicationFailure): void {
  const chain = chainOf(err).map((e) => {
    const { code, detail, hint } = e as { code?: unknown; detail?: unknown; hint?: unknown };
    return { name: e.name, message: e.message, code, detail, hint };
  });
  activityLog()?.warn('database error', { activity, type: classified.type, retryable: !classified.nonRetryable, chain });
}

/** `classify`, logging the whole story of a database error (the classified failure carries none of it). */
export function classifyAndLog(activity: string, err: unknown): unknown {
  const classified = classify(err);
  if (classified !== err && classified instanceof ApplicationFailure) logDatabaseError(activity, err, classified);
  return classified;
}

/** Wraps every function of an activity object so its errors are classified. */
export function withClassifiedErrors<T extends Record<string, (...args: never[]) => Promise<unknown>>>(acts: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(acts)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw classifyAndLog(name, err);
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
