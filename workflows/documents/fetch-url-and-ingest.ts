/**
 * The seed's `fetch_url_and_ingest`: fetch a URL into a case's document, then hand it to
 * `processDocument` as a child that outlives this run. One activity fetches, reads and stores
 * the page (the page goes to Postgres; only ids come back), so the history holds ids only.
 * The same URL with the same content in a case creates nothing new: the existing document is
 * the answer, and its processing is not started again (REJECT_DUPLICATE), unless it `failed`:
 * then it goes back to `pending` and is handed over again, a new run of `document-<id>`
 * (Decision 26 as amended). DOCUMENT_ADDED stays once per document; WORKFLOW_COMPLETED is per run.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { DOCUMENT_EXECUTION_TIMEOUT, documentWrite, TASK_TIME_LIMIT, urlFetchStep } from '../policies.js';
import { searchAttributes } from '../search-attributes.js';
import { startDetached } from '../start-detached.js';
import { failureMessage, runBounded } from '../failures.js';
import { DOCUMENT_PATCHES } from './patches.js';
import {
  workflowIds,
  type FetchUrlAndIngestInput,
  type FetchUrlAndIngestResult,
  type ProcessDocumentInput,
} from '../types.js';

// Every call names its whole policy; the proxy holds only the cap, since `executeWithOptions`
// merges a call's options over the proxy's (the fetch's heartbeat timeout must not reach the
// reopen, which sends none).
const acts = proxyActivities<Activities>({ startToCloseTimeout: TASK_TIME_LIMIT });

/** The progress row the fetch writes (seq 1 of this run): `{ step: 'fetched', documentId, created }`. */
const FETCHED_SEQ = 1;

export async function fetchUrlAndIngest(input: FetchUrlAndIngestInput): Promise<FetchUrlAndIngestResult> {
  return runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    work: () => ingest(input),
    reasonOf: (err) => failureMessage(err).message,
    what: 'URL ingestion',
    fields: { url: input.url },
  });
}

async function ingest(input: FetchUrlAndIngestInput): Promise<FetchUrlAndIngestResult> {
  const { caseId, userId, url, correlationId } = input;
  const fetched = await holdThroughOutage(newHold(input.outageHoldMs), 'fetchUrlDocument', () =>
    acts.fetchUrlDocument.executeWithOptions({ ...urlFetchStep, summary: `Fetch ${url.slice(0, 200)}` }, [
      { caseId, userId, url, seq: FETCHED_SEQ },
    ]),
  );
  const child: ProcessDocumentInput = { documentId: fetched.documentId, caseId, userId, correlationId, queues: input.queues };
  // Checked in this order so that histories from before the patch (no `status`) never reach it.
  if (!fetched.created && fetched.status === 'failed' && patched(DOCUMENT_PATCHES.restartFailedUrlDocument)) {
    // Its last run has closed, or is closing: the activity's signal-with-start reaches either.
    await holdThroughOutage(newHold(input.outageHoldMs), 'reopenFailedDocument', () =>
      acts.reopenFailedDocument.executeWithOptions({ ...documentWrite, summary: `Process the failed document ${fetched.documentId} again` }, [child]),
    );
    return { documentId: fetched.documentId, created: false };
  }
  // It outlives this run: processing takes minutes, fetching seconds. The same content again
  // finds its document's run (running or closed): that is the answer.
  await startDetached('processDocument', {
    workflowId: workflowIds.document(fetched.documentId),
    taskQueue: input.queues.ingest,
    args: [child],
    // A document is processed once: a closed run of its id is not started again.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    workflowExecutionTimeout: DOCUMENT_EXECUTION_TIMEOUT,
    typedSearchAttributes: searchAttributes({ caseId, userId, correlationId }),
    staticSummary: `Process document ${fetched.documentId} of case ${caseId}`,
  });
  return { documentId: fetched.documentId, created: fetched.created };
}

