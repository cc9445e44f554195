/**
 * Starting an inquiry's kind (Phase 2B): `inquiryResearch`, `inquiryDebate` or
 * `inquiryCritique`, id `inquiry-<kind>-<inquiryId>`, queue `research`. A start while that id
 * runs answers the running workflow (USE_EXISTING); after it closed, a new run starts, which
 * writes the kind's next version (ALLOW_DUPLICATE). The gateway's routes and
 * `startLegacyInquiry` (an activity, for the seed's alias workflows) are its callers.
 */
import { randomUUID } from 'node:crypto';
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { inquiries } from '../db/schema/index.js';
import { failure } from '../errors.js';
import { INQUIRY_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { INQUIRY_WORKFLOW_TYPES, workflowIds, type InquiryInput, type InquiryKindName, type QueueNames } from '../../workflows/types.js';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createInquiryStartActivities({ db, temporal, config }: { db: Db; temporal: Client; config: { queues: QueueNames } }) {
  return {
    /**
     * The seed's inquiry names (`generate_research_workflow`, ...: workflows/agents/legacy-names.ts)
     * start or join the kind here: the inquiry checked against the user (a refusal is final),
     * then the same start as the route's. Answers the kind's workflow id.
     */
    async startLegacyInquiry(req: { name: string; kind: InquiryKindName; inquiryId: string; userId: string; correlationId?: string }): Promise<{ workflowId: string }> {
      if (!UUID.test(String(req.inquiryId)) || !UUID.test(String(req.userId))) throw failure('ValidationError', 'inquiry_id and user_id must be UUIDs');
      const [inquiry] = await db.select().from(inquiries).where(and(eq(inquiries.id, req.inquiryId), eq(inquiries.userId, req.userId)));
      if (!inquiry) throw failure('NotFound', `inquiry ${req.inquiryId} not found for user ${req.userId}`);
      log.warn(`workflow type "${req.name}" is deprecated: use ${INQUIRY_WORKFLOW_TYPES[req.kind]} (POST /v1/inquiries/:inquiryId/${req.kind})`, { inquiryId: inquiry.id });
      const input: InquiryInput = {
        inquiryId: inquiry.id, kind: req.kind, caseId: inquiry.caseId, userId: req.userId, correlationId: req.correlationId || randomUUID(), queues: config.queues,
      };
      const { workflowId } = await startInquiry(temporal, input, { deadline: Date.now() + START_DEADLINE_MS });
      return { workflowId };
    },
  };
}
