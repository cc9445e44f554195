/**
 * The one hand-off (DESIGN.md Decision 31): a row is committed first (a user message, a
 * document, a piece of evidence), then handed to its workflow by one Temporal call (a start or
 * a signal-with-start). The gateway, the redelivery job and the best-effort tells use this
 * module, so "retry while the outcome is uncertain, never fail what may have landed" is
 * written once.
 *
 * The status a failed call ends with describes its last attempt only: the SDK's connection
 * itself resends the same request on UNKNOWN, UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED,
 * DATA_LOSS, OUT_OF_RANGE (and some INTERNAL) until the deadline, so a final "no connection"
 * does not prove that an earlier attempt was not written to a connection that then dropped.
 * Hence only two outcomes are certain:
 * - `not-sent`: the client's channel was shut down (a closed client). grpc-js refuses to
 *   create the call, synchronously and before any attempt, with "Channel has been shut
 *   down"; the SDK wraps that error, which carries no gRPC status, in a `ServiceError`.
 * - `rejected`: the server refused the request as such (INVALID_ARGUMENT, PERMISSION_DENIED,
 *   UNAUTHENTICATED, UNIMPLEMENTED, an unknown namespace). None is retried, and each would
 *   have refused every earlier attempt of the same request alike.
 * Everything else is `ambiguous`: DEADLINE_EXCEEDED and CANCELLED (the server may have
 * applied the request before the client stopped waiting), UNAVAILABLE and the other retried
 * codes, FAILED_PRECONDITION, INTERNAL, and any error without a gRPC status. Repeating an
 * ambiguous call is safe for every kind: a conversation ignores message ids it knows, a
 * document's run takes it only while it waits, an evidence or agent start joins an open run
 * (and a case draft's signal only asks it to look again).
 */
import { NamespaceNotFoundError, ServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from './db/client.js';
import type { Queryable, Tx } from './events.js';

export type CallFailure = 'not-sent' | 'rejected' | 'ambiguous';

/** gRPC status codes by name (the values are fixed by the gRPC spec). */
const GRPC = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, UNIMPLEMENTED: 12, UNAUTHENTICATED: 16 } as const;
const REJECTED_CODES = new Set<number>(Object.values(GRPC));

/** grpc-js's error when a call is made on a closed channel (`InternalChannel.createCall`). */
const CHANNEL_SHUT_DOWN = 'Channel has been shut down';

interface GrpcStatusLike {
  code?: unknown;
  message?: unknown;
}

/** What a failed call says about whether it reached the server (above). */
export function classifyCallFailure(err: unknown): CallFailure {
  if (err instanceof NamespaceNotFoundError) return 'rejected';
  if (!(err instanceof ServiceError)) return 'ambiguous';
  const cause = (err.cause ?? {}) as GrpcStatusLike;
  if (typeof cause.code === 'number') return REJECTED_CODES.has(cause.code) ? 'rejected' : 'ambiguous';
  return cause.message === CHANNEL_SHUT_DOWN ? 'not-sent' : 'ambiguous';
}

export interface HandOffPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The deadline of one attempt. */
  attemptTimeoutMs: number;
  /** The deadline of the whole hand-off, so its caller is answered in bounded time. */
  budgetMs: number;
  /** The pause before the second attempt; it doubles after each. */
  backoffMs: number;
}

/** A healthy call takes milliseconds; at worst a POST waits ~8 s before the redelivery job takes over. */
export const HANDOFF_POLICY: HandOffPolicy = { attempts: 3, attemptTimeoutMs: 5_000, budgetMs: 8_000, backoffMs: 200 };
/** An attempt with less time than this left would only time out. */
const MIN_ATTEMPT_MS = 250;

export type CallOutcome<T> =
  | { outcome: 'delivered'; value: T; attempts: number }
  /** The call may or may not have landed: the row stays pending, and the redelivery job hands it over again. */
  | { outcome: 'unconfirmed'; attempts: number; error: unknown }
  /** Certainly not delivered: the client was closed (`not-sent`) or the server refused the request (`rejected`). */
  | { outcome: 'not-sent' | 'rejected'; attempts: number; error: unknown };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one Temporal call (given the deadline of its attempt), retried while its outcome is
 * ambiguous, within the policy's budget (and not once `signal` aborted). Once any attempt may
 * have landed the result can no longer be "not delivered", whatever a later attempt says.
 */
export async function startAndClassify<T>(
  call: (deadline: number) => Promise<T>,
  policy: HandOffPolicy = HANDOFF_POLICY,
  signal?: AbortSignal,
): Promise<CallOutcome<T>> {
  const giveUpAt = Date.now() + policy.budgetMs;
  let mayHaveLanded = false;
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await call(Math.min(Date.now() + policy.attemptTimeoutMs, giveUpAt));
      return { outcome: 'delivered', value, attempts: attempt };
    } catch (error) {
      const failure = classifyCallFailure(error);
      if (failure !== 'ambiguous' && !mayHaveLanded) return { outcome: failure, attempts: attempt, error };
      mayHaveLanded = true;
      const pause = policy.backoffMs * 2 ** (attempt - 1);
      const retry = failure === 'ambiguous' && !signal?.aborted && attempt < policy.attempts && Date.now() + pause + MIN_ATTEMPT_MS <= giveUpAt;
      if (!retry) return { outcome: 'unconfirmed', attempts: attempt, error };
      await sleep(pause);
    }
  }
}

/** The kinds of row committed, then handed over: the crash hook and the logs name them. */
export type HandOffKindName = 'message' | 'document' | 'evidence' | 'agent-run';

/** How one kind of committed row reaches its workflow, and how it fails when it certainly did not. */
export interface HandOffKind<R> {
  name: HandOffKindName;
  /** The one Temporal call that hands the row over; resolves with its workflow id. */
  call(row: R, deadline: number): Promise<string>;
  /** What the row says when the call certainly did not land (the gateway's 503 says it too). */
  failedReason(failure: 'not-sent' | 'rejected'): string;
  /** Moves the row from `pending` to `failed` with the reason, guarded in SQL; undefined when it was no longer pending. */
  fail(tx: Queryable, row: R, reason: string): Promise<R | undefined>;
  /** The row as it is now. */
  reload(db: Queryable, row: R): Promise<R | undefined>;
}

/** Test-only: the fault suite's gateway kills itself here, after the commit, before the call (api/server.ts). */
export interface HandOffHooks {
  beforeHandOff?: (kind: HandOffKindName) => void;
}

export interface HandOverOptions {
  db: Db;
  policy?: HandOffPolicy;
  hooks?: HandOffHooks;
  /** Runs in the transaction that fails the row (the gateway withdraws its idempotent answer there). */
  onFailed?: (tx: Tx) => Promise<void>;
}

export type HandOver<R> =
  | { outcome: 'delivered'; row: R; attempts: number }
  | { outcome: 'unconfirmed'; row: R; attempts: number; error: unknown }
  /** Certainly not delivered, and the row was failed with `reason`. */
  | { outcome: 'failed'; failure: 'not-sent' | 'rejected'; reason: string; row: R; attempts: number; error: unknown }
  /** Certainly not delivered by this call, but the row had left `pending` meanwhile (an earlier call landed after all): left as it is. */
  | { outcome: 'moved-on'; row: R; attempts: number; error: unknown };

/**
 * Hands a committed row over. The row is failed (only while it is still pending, with
 * `onFailed` in that transaction) only when the call certainly did not land; an uncertain
 * one leaves it pending for the redelivery job.
 */
export async function handOver<R>(kind: HandOffKind<R>, row: R, options: HandOverOptions): Promise<HandOver<R>> {
  options.hooks?.beforeHandOff?.(kind.name);
  const sent = await startAndClassify((deadline) => kind.call(row, deadline), options.policy);
  if (sent.outcome === 'delivered') return { outcome: 'delivered', row, attempts: sent.attempts };
  if (sent.outcome === 'unconfirmed') return { ...sent, row };
  const reason = kind.failedReason(sent.outcome);
  const failed = await options.db.transaction(async (tx) => {
    const moved = await kind.fail(tx, row, reason);
    if (moved) await options.onFailed?.(tx);
    return moved;
  });
  if (failed) return { outcome: 'failed', failure: sent.outcome, reason, row: failed, attempts: sent.attempts, error: sent.error };
  return { outcome: 'moved-on', row: (await kind.reload(options.db, row)) ?? row, attempts: sent.attempts, error: sent.error };
}

/** The redelivery job's policy: a few seconds more per attempt than a POST can wait; a failure is the next run's. */
export const REDELIVERY_POLICY: HandOffPolicy = { attempts: 3, attemptTimeoutMs: 10_000, budgetMs: 15_000, backoffMs: 500 };

/**
 * A hand-over of the redelivery job: the same call and classification, never failing a row
 * (a later run tries again); anything but delivered throws, and the unit is counted failed.
 */
export async function redeliver<T>(call: (deadline: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const sent = await startAndClassify(call, REDELIVERY_POLICY, signal);
  if (sent.outcome === 'delivered') return sent.value;
  throw sent.error;
}

/** Whether the workflow id has an open run (none at all is not open); the caller bounds the call (`withDeadline`). */
export async function runIsOpen(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
