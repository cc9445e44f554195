/**
 * Starting `ingestEvidence` for a stored item (queue `ingest`, id
 * `evidence-<caseId>-<contentHash first 16 hex>`, Decision 21): the one start the gateway's
 * hand-off, the sweeper and the tests use. Repeating it is safe:
 *   - while a run of the id is open, the start joins it (USE_EXISTING);
 *   - a closed run that failed (its item ended `failed`, and was submitted again) may be
 *     followed by a new one (ALLOW_DUPLICATE_FAILED_ONLY, Decision 31);
 *   - a run that completed is never repeated: its item is ingested, and its EVIDENCE_ADDED
 *     emitted once. The start then answers the id, as for an already started run.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { HandOffKind } from '../handoff.js';
import { EVIDENCE_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { workflowIds, type IngestEvidenceInput, type QueueNames } from '../../workflows/types.js';
import { failPendingEvidence, findOwnEvidence, type EvidenceSummary } from './store.js';

export interface EvidenceStartOptions {
  /** sha256 (hex) of the item's normalised text, as stored (`evidence.contentHash`): it names the run. */
  contentHash: string;
  /** Absolute deadline (ms since epoch) of the call. */
  deadline: number;
  /** Test-only knobs of the input (a short time limit or outage hold). */
  overrides?: Pick<IngestEvidenceInput, 'timeLimitMs' | 'outageHoldMs'>;
}

export function evidenceWorkflowId(caseId: string, contentHash: string): string {
  return workflowIds.evidence(caseId, contentHash);
}

/** Starts (or finds) the item's run; resolves with its workflow id. */
export async function startIngestEvidence(temporal: Client, input: IngestEvidenceInput, options: EvidenceStartOptions): Promise<string> {
  const workflowId = evidenceWorkflowId(input.caseId, options.contentHash);
  try {
    await temporal.withDeadline(options.deadline, () =>
      temporal.workflow.start('ingestEvidence', {
        workflowId,
        taskQueue: input.queues.ingest,
        args: [{ ...input, ...options.overrides }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        // A backstop past the in-workflow 30 minutes and its cleanup (notes §5).
        workflowExecutionTimeout: EVIDENCE_EXECUTION_TIMEOUT,
        typedSearchAttributes: searchAttributes({ caseId: input.caseId, userId: input.userId, correlationId: input.correlationId }),
        staticSummary: `Ingest evidence ${input.evidenceId} into case ${input.caseId}`,
      }),
    );
  } catch (err) {
    // A completed run of this id: the item is ingested (a retried start after the first landed, or a late duplicate).
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return workflowId;
}

/** What an item whose start certainly failed says; submitting it again starts it. */
export const EVIDENCE_START_FAILED = 'the evidence could not be handed to its workflow: submit it again';

/**
 * Evidence's kind of the shared hand-off (activities/handoff.ts): the gateway's route, the
 * redelivery job, and the pipelines that produce evidence. One correlation id per hand-off.
 */
export function evidenceHandOff(temporal: Client, queues: QueueNames, correlationId: string = randomUUID()): HandOffKind<EvidenceSummary> {
  return {
    name: 'evidence',
    call: (item, deadline) =>
      startIngestEvidence(temporal, { evidenceId: item.id, caseId: item.caseId, userId: item.userId, correlationId, queues }, { contentHash: item.contentHash, deadline }),
    failedReason: () => EVIDENCE_START_FAILED,
    fail: (tx, item, reason) => failPendingEvidence(tx, item.id, reason),
    reload: (db, item) => findOwnEvidence(db, item.userId, item.id),
  };
}
