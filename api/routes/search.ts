/**
 * `GET /v1/cases/:caseId/search?q=&k=&kind=`: retrieval (activities/retrieval, Decisions 24
 * and 32) over one of the caller's cases: the top `k` passages (default 10, at most 50) of
 * its chunks, evidence and signals (or of one `kind`), full-text and vector fused. A foreign
 * or unknown case is the same 404.
 *
 * A search embeds its query, so it is metered and bounded like the pipelines' model calls:
 * a per-user budget of its own (`rateLimitPerMinute`, 429 past it), the embedding's usage in
 * the token ledger (a gateway call has no activity: its key is `search:<userId>`, the request
 * id, activity `search`, attempt 1), and the vectors one search holds capped in bytes.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  PASSAGE_KINDS, retrieve, retrievalSettings, type Passage, type PassageKind, type RetrievalRequest, type RetrievalResult,
} from '../../activities/retrieval/index.js';
import { meterAttempt } from '../../activities/usage.js';
import { SEARCH_DEFAULTS, type SearchConfig } from '../../workers/config.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { namedPattern, nonBlank, unavailable } from '../errors.js';
import { perUserRateLimit } from '../rate-limit.js';
import { caseParams, type CaseParams } from './case-schemas.js';
import { nullable, uuid, withErrors } from './chat-schemas.js';

export const SEARCH_DEFAULT_K = 10;
export const SEARCH_MAX_K = 50;
export const SEARCH_QUERY_MAX_CHARS = 500;

interface SearchQuery {
  q: string;
  k?: string;
  kind?: PassageKind;
}

const querystring = {
  type: 'object',
  properties: {
    q: {
      type: 'string',
      minLength: 1,
      maxLength: SEARCH_QUERY_MAX_CHARS,
      ...nonBlank,
      description: 'required: words, "a phrase", -excluded, or (websearch_to_tsquery syntax); also embedded for the vector side',
    },
    k: { type: 'string', description: `passages to return: 1-${SEARCH_MAX_K}, default ${SEARCH_DEFAULT_K}`, ...namedPattern('^([1-9]|[1-4][0-9]|50)$', `must be an integer from 1 to ${SEARCH_MAX_K}`) },
    kind: { type: 'string', enum: PASSAGE_KINDS, description: 'search only chunks of documents, evidence or signals; absent: all three' },
  },
  required: ['q'],
  additionalProperties: false,
} as const;

const score = { type: 'number' } as const;
const rank = nullable({ type: 'integer', description: '1-based; null: this retriever did not find it' });

const scoresSchema = {
  type: 'object',
  properties: {
    fused: { ...score, description: 'reciprocal rank fusion: Σ 1/(60 + rank)' },
    fullText: nullable({ ...score, description: 'ts_rank_cd, normalised to 0..1' }),
    cosine: nullable(score),
    fullTextRank: rank,
    vectorRank: rank,
  },
  required: ['fused', 'fullText', 'cosine', 'fullTextRank', 'vectorRank'],
} as const;

const snippet = { type: 'string', description: 'a few hundred characters around the best match; … where cut' } as const;

const chunkPassageSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['chunk'], description: 'a passage of a document' },
    chunkId: uuid,
    documentId: uuid,
    documentTitle: { type: 'string' },
    ordinal: { type: 'integer', description: "the chunk's place in its document, from 0" },
    snippet,
    scores: scoresSchema,
  },
  required: ['kind', 'chunkId', 'documentId', 'documentTitle', 'ordinal', 'snippet', 'scores'],
} as const;

const evidencePassageSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['evidence'], description: 'a piece of evidence of the case' },
    evidenceId: uuid,
    source: { type: 'string', enum: ['manual', 'document', 'research'] },
    sourceUrl: nullable({ type: 'string' }),
    sourceTitle: nullable({ type: 'string' }),
    documentId: nullable(uuid),
    snippet,
    scores: scoresSchema,
  },
  required: ['kind', 'evidenceId', 'source', 'sourceUrl', 'sourceTitle', 'documentId', 'snippet', 'scores'],
} as const;

const signalPassageSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['signal'], description: 'an active signal of the case' },
    signalId: uuid,
    signalType: { type: 'string', description: 'assumption, goal, constraint, question, risk...' },
    threadId: nullable(uuid),
    snippet,
    scores: scoresSchema,
  },
  required: ['kind', 'signalId', 'signalType', 'threadId', 'snippet', 'scores'],
} as const;

const answerSchema = {
  type: 'object',
  properties: { passages: { type: 'array', items: { anyOf: [chunkPassageSchema, evidencePassageSchema, signalPassageSchema] } } },
  required: ['passages'],
} as const;

/** Whole texts stay in process (research's grounding gate reads them): the answer carries the snippet. */
function passageJson(p: Passage) {
  const { kind, snippet: shown, scores } = p;
  if (p.kind === 'chunk') return { kind, chunkId: p.chunkId, documentId: p.documentId, documentTitle: p.documentTitle, ordinal: p.ordinal, snippet: shown, scores };
  if (p.kind === 'evidence') {
    return { kind, evidenceId: p.evidenceId, source: p.source, sourceUrl: p.sourceUrl, sourceTitle: p.sourceTitle, documentId: p.documentId, snippet: shown, scores };
  }
  return { kind, signalId: p.signalId, signalType: p.signalType, threadId: p.threadId, snippet: shown, scores };
}

/** An embedding service that is down or rate-limited is a 503 the client may retry; anything else stays a 500. */
async function orUnavailable(search: Promise<RetrievalResult>): Promise<RetrievalResult> {
  try {
    return await search;
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'LlmTransient') throw unavailable('the embedding service is unavailable: retry later');
    throw err;
  }
}

/** Retrieval with the query's embedding metered: written to the ledger after it, or alone if the search fails. */
async function meteredSearch(deps: RouteDeps, request: FastifyRequest, search: Omit<RetrievalRequest, 'call'>, config: SearchConfig) {
  const userId = request.user.id;
  const meter = meterAttempt(deps.db, userId, { workflowId: `search:${userId}`, runId: request.id, activityId: 'search', attempt: 1 });
  const settings = retrievalSettings(config);
  const result = await meter.call((call) => orUnavailable(retrieve(deps.db, deps.embedder, { ...search, call }, settings)));
  // A search stores nothing: its ledger row is the only write.
  await meter.inTransaction(async () => undefined);
  return result;
}

export async function searchRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const config = { ...SEARCH_DEFAULTS, ...deps.config.search };
  const rateLimit = perUserRateLimit(app, config.rateLimitPerMinute, 'searches');

  app.get<{ Params: CaseParams; Querystring: SearchQuery }>(
    '/v1/cases/:caseId/search',
    { schema: { tags: ['search'], params: caseParams, querystring, response: withErrors({ 200: answerSchema }) }, onRequest: rateLimit },
    async (request) => {
      const { caseId } = request.params;
      await findOwnCase(db, request.user.id, caseId);
      const { q, k, kind } = request.query;
      const kinds = kind === undefined ? undefined : [kind];
      const result = await meteredSearch(deps, request, { caseId, query: q, k: k === undefined ? SEARCH_DEFAULT_K : Number(k), kinds }, config);
      if (result.vectors.limitReached) request.log.info({ caseId, vectorsRead: result.vectors.read }, 'search: the case has more vectors than the vector side reads');
      return { passages: result.passages.map(passageJson) };
    },
  );
}
