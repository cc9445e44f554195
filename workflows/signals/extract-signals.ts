/**
 * The seed's `extract_signals_workflow` (queue `ingest`, id `extract-signals-<threadId or
 * documentId>-<sha256 of the sorted message ids or of the document's content hash, first 16
 * hex>`): signals extracted on demand from chosen messages of a thread of the case or from a
 * document's chunks, one bounded batch per activity (activities/signal-extraction.ts), each
 * stored once. The signals a batch created are embedded by a detached `generateSignalEmbeddings`.
 * A long document continues as new every `batchesPerRun` batches, carrying where it stopped
 * and its totals; each run is bounded by its time limit, and a failure fails the run with its
 * reason (a new start of the same id then goes on, the stored batches answered from their events).
 */
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { EXTRACTION_BATCHES_PER_RUN, signalExtractionBatch, TASK_TIME_LIMIT } from '../policies.js';
import { searchAttributes } from '../search-attributes.js';
import { startDetached } from '../start-detached.js';
import { workflowIds, type ExtractSignalsInput, type ExtractSignalsResult } from '../types.js';

const { extractSignalBatch } = proxyActivities<Activities>(signalExtractionBatch);

const scopeOf = (input: ExtractSignalsInput) => (input.source.kind === 'document' ? input.source.documentId : input.source.threadId);

/** Before the first batch: chunk ordinals start at 0, message seqs at 1. */
const BEFORE_FIRST = -1;

export async function extractSignalsWorkflow(input: ExtractSignalsInput): Promise<ExtractSignalsResult> {
  const outcome = await runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    work: () => extractBatches(input),
    reasonOf: (err) => failureReason(err, 'extraction failed'),
    what: 'signal extraction',
    fields: { caseId: input.caseId, source: input.source.kind },
  });
  if ('done' in outcome) return outcome.done;
  return continueAsNew<typeof extractSignalsWorkflow>({ ...input, after: outcome.after, totals: outcome.totals });
}

/** Up to `batchesPerRun` batches: the totals when none is left, else where the next run goes on. */
async function extractBatches(input: ExtractSignalsInput): Promise<{ done: ExtractSignalsResult } | { after: number; totals: ExtractSignalsResult }> {
  const { workflowId } = workflowInfo();
  const totals = { ...(input.totals ?? { batches: 0, created: 0, skipped: 0 }) };
  const hold = newHold(input.outageHoldMs, 'per-outage');
  const threadId = input.source.kind === 'messages' ? input.source.threadId : undefined;
  let after = input.after ?? BEFORE_FIRST;
  for (let n = 0; n < (input.batchesPerRun ?? EXTRACTION_BATCHES_PER_RUN); n++) {
    const batch = await holdThroughOutage(hold, 'extractSignalBatch', () =>
      extractSignalBatch.executeWithOptions({ ...signalExtractionBatch, summary: `Batch ${totals.batches + 1}: extract signals after item ${after}` }, [
        { key: workflowId, caseId: input.caseId, userId: input.userId, source: input.source, after },
      ]),
    );
    if (batch.last === null) return { done: totals };
    totals.batches++;
    totals.created += batch.signalIds.length;
    if (batch.failed) totals.skipped++;
    after = batch.last;
    if (batch.signalIds.length === 0) continue;
    await startDetached('generateSignalEmbeddings', {
      // From the input, not the run's own id: a replay (or a reset) may run it under another.
      workflowId: workflowIds.signalEmbeddings(scopeOf(input), `${input.correlationId}-${after}`),
      taskQueue: input.queues.ingest,
      args: [{ signalIds: batch.signalIds, threadId }],
      staticSummary: `Embed ${batch.signalIds.length} signal(s) extracted from ${scopeOf(input)}`,
      typedSearchAttributes: searchAttributes({ caseId: input.caseId, threadId, userId: input.userId }),
    });
  }
  return { after, totals };
}
