import { ActivityFailure, ApplicationFailure, log } from '@temporalio/workflow';
import type { Degradation } from '../types.js';

/** The innermost readable message of a failure chain. */
export function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  if (current instanceof ApplicationFailure) return current.message;
  return current instanceof Error ? current.message : String(current);
}

/**
 * Runs an optional step (DESIGN.md rule 5): a failure is logged as a warning and recorded
 * as a degradation of the run, and never fails the reply.
 */
export async function bestEffort(step: string, degradations: Degradation[], fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const error = failureMessage(err);
    log.warn('optional chat step failed', { step, error });
    degradations.push({ step, error });
  }
}
