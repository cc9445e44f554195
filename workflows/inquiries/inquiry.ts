/**
 * The Phase 2B inquiry workflows (queue `research`, id `inquiry-<kind>-<inquiryId>`):
 * `inquiryResearch`, `inquiryDebate` (two sides with their strongest evidence, and what would
 * settle it) and `inquiryCritique`. One run writes one version of its kind's document: it
 * reserves the version, searches the case corpus for the question and extracts grounded
 * findings (research's phases, scoped to the version), writes the document in the kind's form
 * and stores it as a case document (source `inquiry`) with RESEARCH_COMPLETED, has
 * `processDocument` make it searchable (a child; it never becomes evidence), then emits
 * DOCUMENT_ADDED and WORKFLOW_COMPLETED. Each phase is one activity (research's phase shape:
 * named, held through a database outage); every way out but success marks the version failed.
 */
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, ParentClosePolicy, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { DOCUMENT_EXECUTION_TIMEOUT, research as researchPolicy, researchBookkeeping, TASK_TIME_LIMIT_MS } from '../policies.js';
import { newAgentRun, phase, phaseRequest, type AgentRun } from '../research/phases.js';
import { searchAttributes } from '../search-attributes.js';
import { workflowIds, type InquiryInput, type InquiryKindName, type InquiryResult, type ProcessDocumentInput } from '../types.js';

const acts = proxyActivities<Activities>(researchPolicy);
const book = (summary: string) => ({ ...researchBookkeeping, summary });
const step = (summary: string) => ({ ...researchPolicy, summary });

/** What the document says when the corpus gave nothing to ground it in. */
const NOTHING_TO_READ = 'The case has no documents or evidence to answer from yet.';
const NOTHING_FOUND = 'Nothing in the case matched the question.';

export async function inquiryResearch(input: InquiryInput): Promise<InquiryResult> {
  return runInquiry('research', input);
}

export async function inquiryDebate(input: InquiryInput): Promise<InquiryResult> {
  return runInquiry('debate', input);
}

export async function inquiryCritique(input: InquiryInput): Promise<InquiryResult> {
  return runInquiry('critique', input);
}

/** One version of the kind's document, bounded by the run's time limit; a failure marks the version failed. */
async function runInquiry(kind: InquiryKindName, input: InquiryInput): Promise<InquiryResult> {
  const run = newAgentRun(workflowInfo().workflowId, input);
  return runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT_MS,
    work: () => work(run, kind, input),
    reasonOf: (err) => failureReason(err, `${run.step} failed`),
    what: `inquiry ${kind}`,
    fields: { inquiryId: input.inquiryId, caseId: input.caseId },
    cleanup: (reason) =>
      phase(run, run.step, () =>
        acts.markInquiryFailed.executeWithOptions(book(`Mark the ${kind} failed: ${reason}`), [{ inquiryId: input.inquiryId, kind, reason: `${run.step}: ${reason}` }]),
      ),
  });
}

async function work(run: AgentRun, kind: InquiryKindName, input: InquiryInput): Promise<InquiryResult> {
  const { inquiryId } = input;
  const claimed = await phase(run, 'claim', () => acts.claimInquiryVersion.executeWithOptions(book(`Take the next ${kind} version`), [{ inquiryId, kind }]));
  const { scope, question, version } = claimed;
  const found = await phase(run, 'search', () =>
    acts.researchSearch.executeWithOptions(step(`Search the case for "${question.slice(0, 80)}"`), [
      { ...phaseRequest(run, 1, 20), scope, queries: [question], corpusOnly: true },
    ]),
  );
  if (found.sourceIds.length > 0) {
    await phase(run, 'extract', () =>
      acts.researchExtract.executeWithOptions(step(`Extract grounded findings from ${found.sourceIds.length} source(s)`), [
        { ...phaseRequest(run, 1, 50), scope, topic: question, questions: [question], sourceIds: found.sourceIds },
      ]),
    );
  }
  const notes = found.providers.length === 0 ? [NOTHING_TO_READ] : found.sourceIds.length === 0 ? [NOTHING_FOUND] : [];
  const written = await phase(run, 'write', () =>
    acts.writeInquiryDocument.executeWithOptions(step(`Write the ${kind} (version ${version})`), [
      { ...phaseRequest(run, 2, 80), scope, inquiryId, kind, version, question, notes },
    ]),
  );
  run.step = 'process';
  await processDocument(input, written.documentId);
  await phase(run, 'finish', () =>
    acts.finishInquiryDocument.executeWithOptions(book(`The ${kind} is searchable`), [{ inquiryId, kind, version, documentId: written.documentId }]),
  );
  return { inquiryId, kind, version, documentId: written.documentId, findings: written.findings, citations: written.citations };
}

/** The document's processing, as any document's (never evidence: its source is `inquiry`); it outlives a cancelled inquiry. */
async function processDocument(input: InquiryInput, documentId: string): Promise<void> {
  const child: ProcessDocumentInput = { documentId, caseId: input.caseId, userId: input.userId, correlationId: input.correlationId, queues: input.queues };
  try {
    await executeChild('processDocument', {
      workflowId: workflowIds.document(documentId),
      taskQueue: input.queues.ingest,
      args: [child],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowExecutionTimeout: DOCUMENT_EXECUTION_TIMEOUT,
      typedSearchAttributes: searchAttributes({ caseId: input.caseId, userId: input.userId, correlationId: input.correlationId }),
      staticSummary: `Process the inquiry's document ${documentId}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // The redelivery job handed the pending document over first (this run stalled past its
    // grace time): that run makes it searchable, and this one waits for it.
    await untilProcessed(documentId);
  }
}

const POLL_INTERVAL = '2 seconds';

async function untilProcessed(documentId: string): Promise<void> {
  for (;;) {
    const { status, error } = await acts.inquiryDocumentStatus.executeWithOptions(book('Is the document searchable?'), [{ documentId }]);
    if (status === 'completed') return;
    if (status === 'failed') throw ApplicationFailure.nonRetryable(`the document could not be processed: ${error ?? 'no reason given'}`, 'ValidationError');
    await sleep(POLL_INTERVAL);
  }
}
