/**
 * The seed's `ingest_evidence_async`, over an item the store committed `pending` (Decision
 * 31): one activity scores it, links it to the case's signals, checks it for contradictions
 * and records all of it with EVIDENCE_ADDED (activities/evidence/analyse.ts says why one);
 * then the case's brief and running conversations are told, best effort. Payloads are ids and
 * counts. Every way out but success leaves the item `failed` with a reason (a step's failure,
 * the in-workflow time limit, a cancellation), through a cleanup that runs even when the run
 * is cancelled.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { runBounded } from '../failures.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { evidenceAnalysis, evidenceTell, evidenceWrite, TASK_TIME_LIMIT } from '../policies.js';
import type { IngestEvidenceInput, IngestEvidenceResult } from '../types.js';

/**
 * Every call names its whole policy. `executeWithOptions` deep-merges it over the proxy's
 * options, so the proxy holds only the seed's global limit: with the analysis's policy here,
 * the tell and the cleanup inherited its 20 s heartbeat timeout (neither beat) and its
 * non-retryable `DatabaseUnavailable` (the tell is not held through an outage).
 */
const acts = proxyActivities<Activities>({ startToCloseTimeout: TASK_TIME_LIMIT });

export async function ingestEvidence(input: IngestEvidenceInput): Promise<IngestEvidenceResult> {
  const result = await runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    work: () => analyse(input),
    reasonOf,
    what: 'evidence ingestion',
    fields: { evidenceId: input.evidenceId },
    cleanup: (reason) =>
      holdThroughOutage(newHold(input.outageHoldMs), 'markEvidenceFailed', () =>
        acts.markEvidenceFailed.executeWithOptions({ ...evidenceWrite, summary: `Mark the evidence failed: ${reason}` }, [
          { evidenceId: input.evidenceId, reason },
        ]),
      ),
  });
  await tell(input);
  return result;
}

function analyse(input: IngestEvidenceInput): Promise<IngestEvidenceResult> {
  const { evidenceId, correlationId } = input;
  return holdThroughOutage(newHold(input.outageHoldMs), 'analyseEvidence', () =>
    acts.analyseEvidence.executeWithOptions({ ...evidenceAnalysis, summary: `Score, link and check evidence ${evidenceId}` }, [
      { evidenceId, correlationId },
    ]),
  );
}

/** Best effort (rule 5): the item is ingested whatever happens here; a failure is logged. */
async function tell(input: IngestEvidenceInput): Promise<void> {
  try {
    await acts.tellEvidenceAdded.executeWithOptions({ ...evidenceTell, summary: `Tell the brief and conversations of case ${input.caseId}` }, [
      { evidenceId: input.evidenceId, caseId: input.caseId, userId: input.userId },
    ]);
  } catch (err) {
    if (isCancellation(err)) return;
    log.warn('evidence ingested, but its case could not be told', { evidenceId: input.evidenceId, error: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * The failure's own words as classified where it happened (the activity names its stage:
 * "linking failed: …"), not "activity failed".
 */
function reasonOf(err: unknown): string {
  if (isCancellation(err)) return 'cancelled';
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    message = e.message || message;
    if (e instanceof ApplicationFailure) return message;
    if (!(e instanceof ActivityFailure)) break;
  }
  return `ingestion failed: ${message}`;
}
