/**
 * Starting `processDocument` for a stored document (`document-<documentId>`, queue
 * `ingest`, CaseId and UserId): the gateway's hand-off and the tests use this one call.
 * Repeating it is safe: a running run is returned (USE_EXISTING), and a closed one is
 * not started again (REJECT_DUPLICATE: processing a document again is a decision of its
 * own, not a retried request).
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { DOCUMENT_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { workflowIds, type ProcessDocumentInput } from '../../workflows/types.js';

export interface StartOptions {
  /** Absolute deadline (ms since epoch) of the call. */
  deadline: number;
  /** Test-only knobs of the input (a short time limit or outage hold). */
  overrides?: Pick<ProcessDocumentInput, 'timeLimitMs' | 'outageHoldMs'>;
}

/** Starts (or finds) the document's run; resolves with its workflow id. */
export async function startProcessDocument(temporal: Client, input: ProcessDocumentInput, options: StartOptions): Promise<string> {
  const workflowId = workflowIds.document(input.documentId);
  try {
    await temporal.withDeadline(options.deadline, () =>
      temporal.workflow.start('processDocument', {
        workflowId,
        taskQueue: input.queues.ingest,
        args: [{ ...input, ...options.overrides }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowExecutionTimeout: DOCUMENT_EXECUTION_TIMEOUT,
        typedSearchAttributes: searchAttributes({ caseId: input.caseId, userId: input.userId, correlationId: input.correlationId }),
        staticSummary: `Process document ${input.documentId} of case ${input.caseId}`,
      }),
    );
  } catch (err) {
    // A run of this id exists (a retried start after the first one landed, and that run closed).
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return workflowId;
}
