/**
 * A start from inside a workflow (Decision 31): a child with parent-close ABANDON, so it
 * outlives its starter (a conversation's title and agents, a fetched page's processing, a
 * document's evidence), and an id that already runs (or, under the caller's reuse policy,
 * ran) is the answer, not a failure: a replayed or repeated start changes nothing.
 */
import { ParentClosePolicy, startChild, type ChildWorkflowOptions } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';

/** Starts a child that outlives the caller; resolves once it started, or was found started. */
export async function startDetached(workflowType: string, options: ChildWorkflowOptions & { args: unknown[] }): Promise<void> {
  try {
    await startChild(workflowType, { parentClosePolicy: ParentClosePolicy.ABANDON, ...options });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
