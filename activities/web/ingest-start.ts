/**
 * Starting `fetchUrlAndIngest` (queue `ingest`, id `url-<caseId>-<sha256(url) first 16 hex>`,
 * Decision 21): the gateway's hand-off and the tests use this one call. The URL is normalised
 * first (WHATWG form, no fragment: the server never sees one), so `HTTP://Example.com#top` and
 * `http://example.com/` are one run id and one document key.
 *
 * A second start while a run of the id is open joins it (USE_EXISTING); once it has closed, a
 * new start fetches again (the default reuse policy), since the page may have changed: the
 * same content then finds the existing document, a changed one is a new document.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DOCUMENT_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { workflowIds, type FetchUrlAndIngestInput } from '../../workflows/types.js';
import { MAX_URL_CHARS, shownUrl } from './url-policy.js';

/** The URL as stored and hashed, or why it cannot be fetched at all (the gateway's 400). */
export function normaliseSubmittedUrl(input: string): { url: string } | { problem: string } {
  const trimmed = input.trim();
  if (trimmed.length > MAX_URL_CHARS) return { problem: `must be at most ${MAX_URL_CHARS} characters` };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { problem: 'must be an absolute http or https URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `must be an http or https URL (not ${url.protocol})` };
  if (url.username || url.password) return { problem: 'must not carry credentials (user:password@)' };
  url.hash = '';
  return { url: url.href };
}

export function urlWorkflowId(caseId: string, url: string): string {
  return workflowIds.url(caseId, createHash('sha256').update(url).digest('hex'));
}

export interface UrlStartOptions {
  /** Absolute deadline (ms since epoch) of the call. */
  deadline: number;
  /** Test-only knobs of the input (a short time limit or outage hold). */
  overrides?: Pick<FetchUrlAndIngestInput, 'timeLimitMs' | 'outageHoldMs'>;
}

/** Starts (or joins) the URL's run; resolves with its id and the run it started or joined. */
export async function startFetchUrlAndIngest(
  temporal: Client,
  input: FetchUrlAndIngestInput,
  options: UrlStartOptions,
): Promise<{ workflowId: string; runId: string }> {
  const workflowId = urlWorkflowId(input.caseId, input.url);
  const handle = await temporal.withDeadline(options.deadline, () =>
    temporal.workflow.start('fetchUrlAndIngest', {
      workflowId,
      taskQueue: input.queues.ingest,
      args: [{ ...input, ...options.overrides }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A backstop past the in-workflow 30 minutes (notes §5).
      workflowExecutionTimeout: DOCUMENT_EXECUTION_TIMEOUT,
      typedSearchAttributes: searchAttributes({ caseId: input.caseId, userId: input.userId, correlationId: input.correlationId }),
      staticSummary: `Fetch ${shownUrl(input.url)} into case ${input.caseId}`,
    }),
  );
  return { workflowId, runId: handle.firstExecutionRunId };
}
