/**
 * A beat while one long call is in flight (an embedding batch, a model call): it tells
 * Temporal the worker is alive, so a dead worker's attempt is retried after the policy's
 * heartbeat timeout rather than its 30-minute start-to-close. Outside an activity (unit
 * tests) it just runs the call.
 */
import { Context } from '@temporalio/activity';

export const KEEPALIVE_MS = 5_000;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** One beat with its progress; outside an activity (the bench, unit tests) nothing to tell. */
export function beat(details: unknown): void {
  activityContext()?.heartbeat(details);
}

/** What the last attempt's last beat carried (a retried attempt goes on from it); undefined outside an activity. */
export function lastBeat<T>(): T | undefined {
  return activityContext()?.info.heartbeatDetails as T | undefined;
}

export async function keepAlive<T>(fn: () => Promise<T>, details?: () => unknown, intervalMs = KEEPALIVE_MS): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return fn();
  const timer = setInterval(() => ctx.heartbeat(details?.()), intervalMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
