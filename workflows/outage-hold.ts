/**
 * Decision 28: an unreachable database fails no message. A step (chat, documents, URLs) whose activity
 * reports `DatabaseUnavailable` is tried again after a durable timer, with backoff, until
 * the hold's deadline; only past it does the failure go on (the reply then fails with a
 * readable reason). The timers end the workflow task, so messages that arrive meanwhile
 * queue up for the next batch as usual.
 */
import { ActivityFailure, ApplicationFailure, log, sleep } from '@temporalio/workflow';
import { DATABASE_OUTAGE_FIRST_RETRY_MS, DATABASE_OUTAGE_HOLD_MS, DATABASE_OUTAGE_MAX_RETRY_MS } from './policies.js';

/**
 * How far a hold's window reaches:
 * - `shared`: the first outage sets one deadline for every step the hold covers. A chat turn
 *   shares one, so a turn is held at most `holdMs` in all, however many of its steps meet the outage.
 * - `per-outage`: a success ends the outage, and the next one gets a window of its own. A
 *   document's steps run for minutes: two blips far apart are two outages, not one long one.
 */
export type HoldWindow = 'shared' | 'per-outage';

export interface OutageHold {
  /** How long to hold: DATABASE_OUTAGE_HOLD_MS unless a test shortens it through input. */
  holdMs: number;
  window: HoldWindow;
  /** Set by the first failure of an outage; a success clears it when the window is per outage. */
  deadline?: number;
}

export function newHold(holdMs = DATABASE_OUTAGE_HOLD_MS, window: HoldWindow = 'shared'): OutageHold {
  return { holdMs, window };
}

export function isDatabaseUnavailable(err: unknown): boolean {
  let current: unknown = err;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current instanceof ApplicationFailure && current.type === 'DatabaseUnavailable';
}

export async function holdThroughOutage<T>(hold: OutageHold, step: string, fn: () => Promise<T>): Promise<T> {
  for (let delay = DATABASE_OUTAGE_FIRST_RETRY_MS; ; delay = Math.min(delay * 2, DATABASE_OUTAGE_MAX_RETRY_MS)) {
    try {
      const result = await fn();
      if (hold.window === 'per-outage') hold.deadline = undefined;
      return result;
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
