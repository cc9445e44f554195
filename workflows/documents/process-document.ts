/**
 * The seed's `process_document_workflow`: extract → chunk and embed → index, over a document
 * the gateway (or the URL pipeline) stored as `pending`; then, best effort, the completed
 * document's passages become evidence of its case (./document-evidence.ts). Payloads are ids
 * and counts; the text, chunks and vectors stay in Postgres. Every way out but success
 * leaves the document `failed` with a reason (a step's failure, the in-workflow time limit, a
 * cancellation), through a cleanup that runs even when the run is cancelled.
 *
 * A run takes the document only while it waits (`pending`, or `processing` left by a run that
 * was terminated): a start repeated after its run ended finds it taken and does nothing, so
 * `document-<id>` may start again after a closed run (a reprocess, a failed document submitted
 * again) without a retried request processing it twice.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { documentRequestedSignal } from '../messages.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { documentEmbedding, documentExtraction, documentWrite, TASK_TIME_LIMIT } from '../policies.js';
import type { ProcessDocumentInput, ProcessDocumentResult } from '../types.js';
import { runBounded } from '../failures.js';
import { DOCUMENT_PATCHES } from './patches.js';
import { documentEvidence } from './document-evidence.js';

const acts = proxyActivities<Activities>(documentWrite);

/** Progress seqs: `extracted` is 1, `chunked` 2, one `embedded` per batch, then `indexed`, then `evidence`. */
const EXTRACTED_SEQ = 1;
const CHUNKED_SEQ = 2;

/** How a failed step reads in the document's error. */
const STEP_NAMES: Record<string, string> = {
  extractDocumentText: 'extraction',
  embedDocumentChunks: 'embedding',
  indexDocumentChunks: 'indexing',
};

export async function processDocument(input: ProcessDocumentInput): Promise<ProcessDocumentResult> {
  let requests = 0;
  setHandler(documentRequestedSignal, () => void (requests += 1));
  // Requests delivered with the start are served by the claim, this run's first command.
  const served = requests;
  let outcome: { result: ProcessDocumentResult } | { error: unknown };
  try {
    outcome = { result: await processOnce(input) };
  } catch (error) {
    outcome = { error };
  }
  // A later one may have found the document just ended (a reprocess meeting this run as it
  // closed): the next run takes the document if it waits, and does nothing otherwise.
  if (requests > served) await continueAsNew<typeof processDocument>(input);
  if ('error' in outcome) throw outcome.error;
  return outcome.result;
}

/** What the pipeline came to, and, for a completed document, the progress seq its evidence reports at. */
interface Processed {
  result: ProcessDocumentResult;
  evidenceSeq?: number;
}

async function processOnce(input: ProcessDocumentInput): Promise<ProcessDocumentResult> {
  const processed = await runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    work: () => pipeline(input),
    reasonOf,
    what: 'document processing',
    fields: { documentId: input.documentId },
    cleanup: (reason) =>
      holdThroughOutage(newHold(input.outageHoldMs), 'markDocumentFailed', () =>
        acts.markDocumentFailed.executeWithOptions({ ...documentWrite, summary: `Mark the document failed: ${reason}` }, [
          { documentId: input.documentId, reason },
        ]),
      ),
  });
  const { result, evidenceSeq } = processed;
  // After the pipeline's limit, with a limit of its own: the document is completed by now.
  // Runs recorded before the patch ended here, and replay so.
  if (evidenceSeq === undefined || !patched(DOCUMENT_PATCHES.evidenceFromPassages)) return result;
  return { ...result, evidence: await documentEvidence(input, evidenceSeq) };
}

async function pipeline(input: ProcessDocumentInput): Promise<Processed> {
  const { documentId } = input;
  const hold = newHold(input.outageHoldMs, patched(DOCUMENT_PATCHES.outageWindowPerOutage) ? 'per-outage' : 'shared');
  const extracted = await holdThroughOutage(hold, 'extract', () =>
    acts.extractDocumentText.executeWithOptions({ ...documentExtraction, summary: `Extract the text of document ${documentId}` }, [
      { documentId, seq: EXTRACTED_SEQ },
    ]),
  );
  if ('skipped' in extracted) {
    log.info('the document does not wait for a run: nothing to do', { documentId, status: extracted.skipped });
    return { result: { documentId, skipped: extracted.skipped } };
  }
  const embedded = await holdThroughOutage(hold, 'embed', () =>
    acts.embedDocumentChunks.executeWithOptions(
      { ...documentEmbedding, summary: `Chunk and embed ${extracted.characters} characters` },
      [{ documentId, firstSeq: CHUNKED_SEQ }],
    ),
  );
  const indexed = await holdThroughOutage(hold, 'index', () =>
    acts.indexDocumentChunks.executeWithOptions({ ...documentWrite, summary: `Index ${embedded.chunks} chunk(s)` }, [
      {
        documentId,
        seq: embedded.nextSeq,
        chunks: embedded.chunks,
        startedAt: workflowInfo().startTime.toISOString(),
        correlationId: input.correlationId,
      },
    ]),
  );
  return {
    result: { documentId, pages: extracted.pages, characters: extracted.characters, chunks: indexed.chunks },
    evidenceSeq: embedded.nextSeq + 1,
  };
}

/**
 * The words of the failure as classified where it happened (the outermost application
 * failure, not the library error under it), prefixed with the step that failed unless they
 * speak for themselves.
 */
function reasonOf(err: unknown): string {
  if (isCancellation(err)) return 'cancelled';
  let step: string | undefined;
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ActivityFailure) step ??= STEP_NAMES[e.activityType] ?? e.activityType;
    message = e.message || message;
    if (e instanceof ApplicationFailure) {
      if (e.type === 'DocumentUnreadable') return e.message;
      break;
    }
  }
  return step ? `${step} failed: ${message}` : message;
}
