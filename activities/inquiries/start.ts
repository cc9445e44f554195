/**
 * Starting an inquiry's kind (Phase 2B): `inquiryResearch`, `inquiryDebate` or
 * `inquiryCritique`, id `inquiry-<kind>-<inquiryId>`, queue `research`. A start while that id
 * runs answers the running workflow (USE_EXISTING); after it closed, a new run starts, which
 * writes the kind's next version (ALLOW_DUPLICATE). The gateway's routes and
 * `startInquiryWorkflow` (an activity, for the seed's alias workflows) are its callers.
 */
import type { Client } from '@temporalio/client';
import { INQUIRY_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { INQUIRY_WORKFLOW_TYPES, workflowIds, type InquiryInput } from '../../workflows/types.js';

/** Starts the kind's run, or finds it running; its workflow id and the run that answers. */
export async function startInquiry(temporal: Client, input: InquiryInput, options: { deadline: number }): Promise<{ workflowId: string; runId: string }> {
  const workflowId = workflowIds.inquiry(input.kind, input.inquiryId);
  const handle = await temporal.withDeadline(options.deadline, () =>
    temporal.workflow.start(INQUIRY_WORKFLOW_TYPES[input.kind], {
      workflowId,
      taskQueue: input.queues.research,
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowExecutionTimeout: INQUIRY_EXECUTION_TIMEOUT,
      typedSearchAttributes: searchAttributes({ caseId: input.caseId, userId: input.userId, correlationId: input.correlationId }),
      staticSummary: `Inquiry ${input.inquiryId}: ${input.kind}`,
    }),
  );
  return { workflowId, runId: handle.firstExecutionRunId };
}

/** How long the activity's start waits for the workflow service. */
const START_DEADLINE_MS = 10_000;

export function createInquiryStartActivities({ temporal }: { temporal: Client }) {
  return {
    /** Starts (or joins) an inquiry's kind from a workflow (the seed's alias workflows): its workflow id. */
    async startInquiryWorkflow(input: InquiryInput): Promise<{ workflowId: string }> {
      const { workflowId } = await startInquiry(temporal, input, { deadline: Date.now() + START_DEADLINE_MS });
      return { workflowId };
    },
  };
}
