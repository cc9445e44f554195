/**
 * How a bounded workflow (documents, URLs, and the agents to come) ends when it fails: a
 * non-retryable failure whose type names what went wrong underneath, or `TimeLimitExceeded`
 * when its own in-workflow limit (Decision 2) stopped it.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, log } from '@temporalio/workflow';
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

/** The failure's own words as classified where it happened (an activity's reason), not "activity failed". */
export function failureMessage(err: unknown): { message: string; classified: boolean } {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    message = e.message || message;
    if (e instanceof ApplicationFailure) return { message, classified: true };
    if (!(e instanceof ActivityFailure)) break;
  }
  return { message, classified: false };
}

/** `failureMessage`, with `prefix` introducing a cause that came unclassified; a cancellation says so. */
export function failureReason(err: unknown, prefix: string): string {
  if (isCancellation(err)) return 'cancelled';
  const { message, classified } = failureMessage(err);
  return classified ? message : `${prefix}: ${message}`;
}

/** A bounded run: its work under its own time limit, and how it ends when that work fails. */
export interface BoundedRun<T> {
  /** The in-workflow limit (Decision 2): `input.timeLimitMs ?? TASK_TIME_LIMIT`. */
  limit: string | number;
  work: () => Promise<T>;
  /** The failure's readable words (each workflow knows its steps' names). */
  reasonOf: (err: unknown) => string;
  /** What failed, for the log line, with the ids it was about. */
  what: string;
  fields: Record<string, unknown>;
  /** The cleanup every way out but success runs, cancellation included: the row `failed` with the reason. */
  cleanup?: (reason: string) => Promise<unknown>;
}

/**
 * Runs `work` under the limit. On failure: the reason (the limit's, or the failure's own
 * words), a warning, the cleanup (not cancellable), then a cancellation of the run goes on as
 * it is and anything else ends the run with `finalFailure`. The time limit cancels only its
 * own scope; a cancellation of the run cancels the enclosing one too, which tells them apart.
 */
export async function runBounded<T>(run: BoundedRun<T>): Promise<T> {
  try {
    return await CancellationScope.withTimeout(run.limit, run.work);
  } catch (err) {
    const timedOut = isCancellation(err) && !CancellationScope.current().consideredCancelled;
    const reason = timedOut ? `stopped: the time limit of ${describeLimit(run.limit)} was reached` : run.reasonOf(err);
    log.warn(`${run.what} failed`, { ...run.fields, reason });
    const { cleanup } = run;
    if (cleanup) await CancellationScope.nonCancellable(() => cleanup(reason));
    if (isCancellation(err) && !timedOut) throw err;
    throw finalFailure(err, timedOut, reason);
  }
}
