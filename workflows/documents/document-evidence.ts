/**
 * processDocument's last step, once its document is completed: the document's passages become
 * evidence of its case (the activity stores them and tells the brief), and each item that
 * waits for a run gets its `ingestEvidence` as a child that outlives this run (Decision 31),
 * so a slow ingestion never holds the document's run open. Best effort (rule 5): the document
 * is completed whatever happens here; a failure is logged and reported in the run's result.
 * An item whose start failed stays `pending` for the redelivery sweep.
 */
import { CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import { failureMessage } from '../failures.js';
import type { Activities } from '../../activities/index.js';
import type { DocumentEvidenceItem } from '../../activities/documents/evidence.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { startEvidenceIngestion } from '../evidence/start-ingestion.js';
import { DOCUMENT_EVIDENCE_STEP_LIMIT, documentWrite } from '../policies.js';
import type { DocumentEvidenceOutcome, ProcessDocumentInput } from '../types.js';

const acts = proxyActivities<Activities>(documentWrite);

export async function documentEvidence(input: ProcessDocumentInput, seq: number): Promise<DocumentEvidenceOutcome> {
  try {
    return await CancellationScope.withTimeout(DOCUMENT_EVIDENCE_STEP_LIMIT, () => deriveAndStart(input, seq));
  } catch (err) {
    // The run's own cancellation goes on; anything else, this step's time limit included, is its degradation.
    if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
    const reason = isCancellation(err) ? `stopped: the time limit of ${DOCUMENT_EVIDENCE_STEP_LIMIT} was reached` : failureMessage(err).message;
    log.warn('the document is completed, but its evidence could not be derived', { documentId: input.documentId, reason });
    return { failed: reason };
  }
}

async function deriveAndStart(input: ProcessDocumentInput, seq: number): Promise<DocumentEvidenceOutcome> {
  const { documentId } = input;
  const derived = await holdThroughOutage(newHold(input.outageHoldMs, 'per-outage'), 'evidence', () =>
    acts.deriveDocumentEvidence.executeWithOptions({ ...documentWrite, summary: `Make evidence of document ${documentId}'s passages` }, [
      { documentId, seq },
    ]),
  );
  const waiting = derived.items.filter((item) => item.start);
  const starts = await Promise.allSettled(waiting.map((item) => startIngestion(input, item)));
  const failed = starts.flatMap((s) => (s.status === 'rejected' ? [failureMessage(s.reason).message] : []));
  if (failed.length > 0) log.warn('some evidence of the document was not handed over: the sweep starts it', { documentId, failed });
  return { items: derived.items.length, started: waiting.length - failed.length };
}

function startIngestion(input: ProcessDocumentInput, item: DocumentEvidenceItem): Promise<void> {
  return startEvidenceIngestion(input, item, `Ingest evidence ${item.evidenceId} from document ${input.documentId}`);
}

