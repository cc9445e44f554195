/**
 * Starting `ingestEvidence` from inside a workflow for an item its activity stored: a child
 * that outlives the starter (Decision 31: parent-close ABANDON, an already-started id is fine),
 * with the gateway's reuse policy (a failed run may be followed, a completed one never
 * repeated). The document pipeline and the research agent start their evidence this way.
 */
import { startDetached } from '../start-detached.js';
import { EVIDENCE_EXECUTION_TIMEOUT } from '../policies.js';
import { searchAttributes } from '../search-attributes.js';
import { workflowIds, type IngestEvidenceInput, type QueueNames } from '../types.js';

export interface IngestionStarter {
  caseId: string;
  userId: string;
  correlationId?: string;
  queues: QueueNames;
  outageHoldMs?: number;
}

export function startEvidenceIngestion(starter: IngestionStarter, item: { evidenceId: string; contentHash: string }, summary: string): Promise<void> {
  const { caseId, userId, correlationId, queues, outageHoldMs } = starter;
  const args: IngestEvidenceInput = { evidenceId: item.evidenceId, caseId, userId, correlationId, queues, outageHoldMs };
  return startDetached('ingestEvidence', {
    workflowId: workflowIds.evidence(caseId, item.contentHash),
    taskQueue: queues.ingest,
    args: [args],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    workflowExecutionTimeout: EVIDENCE_EXECUTION_TIMEOUT,
    typedSearchAttributes: searchAttributes({ caseId, userId, correlationId }),
    staticSummary: summary,
  });
}
