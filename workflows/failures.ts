/**
 * How a bounded workflow (documents, URLs, and the agents to come) ends when it fails: a
 * non-retryable failure whose type names what went wrong underneath, or `TimeLimitExceeded`
 * when its own in-workflow limit (Decision 2) stopped it.
 */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { ErrorType } from './types.js';

/** The type of the failure underneath (`DocumentUnreadable`, `UrlBlocked`, ...). */
export function failureType(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type) return e.type;
  }
  return undefined;
}

export function describeLimit(limit: string | number): string {
  if (typeof limit === 'string') return limit;
  return limit >= 60_000 ? `${Math.round(limit / 60_000)} minutes` : `${Math.round(limit / 100) / 10} s`;
}

/** The run's final failure, with a readable reason. */
export function finalFailure(err: unknown, timedOut: boolean, reason: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: timedOut ? ('TimeLimitExceeded' satisfies ErrorType) : failureType(err),
    message: reason,
    nonRetryable: true,
    cause: timedOut || !(err instanceof Error) ? undefined : err,
  });
}

/**
 * The failure's own words as classified where it happened (an activity names its stage), not
 * "activity failed"; `prefix` introduces a cause that came unclassified.
 */
export function failureReason(err: unknown, prefix: string): string {
  if (isCancellation(err)) return 'cancelled';
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    message = e.message || message;
    if (e instanceof ApplicationFailure) return message;
    if (!(e instanceof ActivityFailure)) break;
  }
  return `${prefix}: ${message}`;
}
