/**
 * `POST /v1/cases/:caseId/urls` `{ url }`: starts `fetchUrlAndIngest` for a URL on a case of
 * the caller (else 404) and answers 202 `{ workflowId }`. The gateway checks the URL's form
 * only (http or https, absolute, no credentials: else a 400 naming `url`); whether its address
 * may be reached is the worker's fetcher's decision, made at connect time under the worker's
 * allowlist, so a private address is a run that fails at once with the reason.
 *
 * The document is named after the run's first step, not in this answer: which document a URL
 * becomes depends on the content it serves now (the same content finds the existing one), and
 * waiting for the fetch here would hold the request for up to three attempts of 30 s. `GET
 * /v1/workflows/:workflowId` shows it as `progress.documentId` once fetched, and as
 * `result: { documentId, created }` when the run is done (a few ms later).
 *
 * Nothing is written before the start, so a start that may or may not have landed is a 503:
 * repeating the request is safe (the same URL joins the same run while it is open).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { startAndClassify } from '../../activities/handoff.js';
import { normaliseSubmittedUrl, startFetchUrlAndIngest } from '../../activities/web/ingest-start.js';
import { MAX_URL_CHARS } from '../../activities/web/url-policy.js';
import type { FetchUrlAndIngestInput } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { badRequest, unavailable } from '../errors.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { uuid, withErrors } from './chat-schemas.js';

export const START_UNCONFIRMED = 'the workflow service did not confirm the start: repeating the request is safe';

const params = { type: 'object', properties: { caseId: uuid }, required: ['caseId'], additionalProperties: false } as const;
const body = {
  type: 'object',
  properties: { url: { type: 'string', minLength: 1, maxLength: MAX_URL_CHARS, description: 'an absolute http or https URL' } },
  required: ['url'],
  additionalProperties: false,
} as const;
const accepted = {
  type: 'object',
  properties: { workflowId: { type: 'string', description: 'url-<caseId>-<sha256(url) first 16 hex>; its result names the document' } },
  required: ['workflowId'],
} as const;

/** The start through the shared classification (retried while its outcome is uncertain); a 503 if it stays so (nothing was written). */
async function start(deps: RouteDeps, input: FetchUrlAndIngestInput) {
  const sent = await startAndClassify((deadline) => startFetchUrlAndIngest(deps.temporal, input, { deadline }));
  if (sent.outcome === 'delivered') return sent.value;
  if (sent.outcome === 'rejected') throw sent.error;
  throw unavailable(sent.outcome === 'not-sent' ? 'the workflow service is unavailable: retry later' : START_UNCONFIRMED);
}

export async function urlRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  app.post<{ Params: { caseId: string }; Body: { url: string } }>(
    '/v1/cases/:caseId/urls',
    {
      schema: { tags: ['documents'], params, headers: idempotencyHeaders, body, response: withErrors({ 202: accepted }) },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const userId = request.user.id;
      const { id: caseId } = await findOwnCase(deps.db, userId, request.params.caseId);
      const normalised = normaliseSubmittedUrl(request.body.url);
      if ('problem' in normalised) throw badRequest('url', normalised.problem);
      const input: FetchUrlAndIngestInput = { caseId, userId, url: normalised.url, correlationId: randomUUID(), queues: deps.config.queues };
      const { workflowId, runId } = await start(deps, input);
      request.log.info({ workflowId, runId }, 'URL ingestion started or joined');
      return reply.code(202).send({ workflowId });
    },
  );
}
