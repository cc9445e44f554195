/**
 * Runs as the gateway shows them: a run is visible when its `UserId` search attribute is
 * the caller's, or when it has none and the caller is an admin (Decision 18); anything
 * else (foreign, unknown) is the same 404. The status, progress and admin routes share it.
 */
import {
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionStatusName,
  type WorkflowHandle,
} from '@temporalio/client';
import { userIdKey } from '../workflows/search-attributes.js';
import { mayView } from './admin.js';
import type { AuthUser } from './auth.js';
import { notFound, temporalCall } from './errors.js';

/** How long a status request waits for a finished run's result or failure. */
const OUTCOME_TIMEOUT_MS = 2_000;
const FAILED_STATUSES = new Set<WorkflowExecutionStatusName>(['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED']);

export interface VisibleRun {
  handle: WorkflowHandle;
  description: WorkflowExecutionDescription;
}

export function isClosed(status: WorkflowExecutionStatusName): boolean {
  return status === 'COMPLETED' || status === 'CONTINUED_AS_NEW' || FAILED_STATUSES.has(status);
}

/** The latest run of the id, or the given run of it; 404 unless `user` may see it. */
export async function describeVisibleRun(temporal: Client, user: AuthUser, workflowId: string, runId?: string): Promise<VisibleRun> {
  const handle = temporal.workflow.getHandle(workflowId, runId);
  try {
    const description = await temporalCall(temporal, () => handle.describe());
    if (!mayView(user, description.typedSearchAttributes.get(userIdKey))) throw notFound('workflow');
    return { handle, description };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound('workflow');
    throw err;
  }
}

/** The result of a completed run, or the failure message of one that did not complete. */
export async function outcomeOf(temporal: Client, run: VisibleRun): Promise<{ result?: unknown; failure?: { message: string } }> {
  const status = run.description.status.name;
  if (status !== 'COMPLETED' && !FAILED_STATUSES.has(status)) return {};
  try {
    const result: unknown = await temporal.withDeadline(Date.now() + OUTCOME_TIMEOUT_MS, () => run.handle.result());
    return { result };
  } catch (err) {
    if (status === 'COMPLETED') return {};
    const cause = (err as { cause?: { message?: string } }).cause;
    return { failure: { message: cause?.message || (err as Error).message || status.toLowerCase() } };
  }
}
