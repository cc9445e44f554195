/**
 * Decision 28: an unreachable database fails no message. A step (chat, documents, URLs) whose activity
 * reports `DatabaseUnavailable` is tried again after a durable timer, with backoff, until
 * the hold's deadline; only past it does the failure go on (the reply then fails with a
 * readable reason). The timers end the workflow task, so messages that arrive meanwhile
 * queue up for the next batch as usual.
 */
import { ActivityFailure, ApplicationFailure, log, sleep } from '@temporalio/workflow';
import { DATABASE_OUTAGE_FIRST_RETRY_MS, DATABASE_OUTAGE_HOLD_MS, DATABASE_OUTAGE_MAX_RETRY_MS } from './policies.js';

/** One hold: its deadline is set by the first outage it sees, so steps of a turn share it. */
export interface OutageHold {
  /** How long to hold: DATABASE_OUTAGE_HOLD_MS unless a test shortens it through input. */
  holdMs: number;
  deadline?: number;
}

export function newHold(holdMs = DATABASE_OUTAGE_HOLD_MS): OutageHold {
  return { holdMs };
}

export function isDatabaseUnavailable(err: unknown): boolean {
  let current: unknown = err;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current instanceof ApplicationFailure && current.type === 'DatabaseUnavailable';
}

export async function holdThroughOutage<T>(hold: OutageHold, step: string, fn: () => Promise<T>): Promise<T> {
  for (let delay = DATABASE_OUTAGE_FIRST_RETRY_MS; ; delay = Math.min(delay * 2, DATABASE_OUTAGE_MAX_RETRY_MS)) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      hold.deadline ??= Date.now() + hold.holdMs;
      // The last wait is cut to the deadline, so the step is tried once more at its end.
      const wait = Math.min(delay, hold.deadline - Date.now());
      if (wait <= 0) {
        throw ApplicationFailure.create({
          type: 'DatabaseUnavailable',
          message: `the database was unreachable for ${Math.round(hold.holdMs / 1000)} s`,
        });
      }
      log.warn('database unreachable: holding the step', { step, retryInMs: wait });
      await sleep(wait);
    }
  }
}
