/**
 * `GET /v1/cases/:caseId/search?q=&k=&kind=`: retrieval (activities/retrieval, Decisions 24
 * and 32) over one of the caller's cases: the top `k` passages (default 10, at most 50) of
 * its chunks, evidence and signals (or of one `kind`), full-text and vector fused. A foreign
 * or unknown case is the same 404.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { PASSAGE_KINDS, retrieve, type Passage, type PassageKind, type RetrievalResult } from '../../activities/retrieval/index.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { HttpError, namedPattern, nonBlank, unavailable } from '../errors.js';
import { caseParams, type CaseParams } from './case-schemas.js';
import { nullable, uuid, withErrors } from './chat-schemas.js';

export const SEARCH_DEFAULT_K = 10;
export const SEARCH_MAX_K = 50;
export const SEARCH_QUERY_MAX_CHARS = 500;

interface SearchQuery {
  q?: string;
  k?: string;
  kind?: PassageKind;
}

/**
 * `q` is required, but checked in the handler rather than by `required`: the generated
 * hostile-input test (test/api/hostile-cases.ts) sends each query case without the
 * route's other parameters, so a schema-required `q` would answer every `k` case with
 * "q is required" instead of naming `k`.
 */
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

export async function searchRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db, embedder } = deps;

  app.get<{ Params: CaseParams; Querystring: SearchQuery }>(
    '/v1/cases/:caseId/search',
    { schema: { tags: ['search'], params: caseParams, querystring, response: withErrors({ 200: answerSchema }) } },
    async (request) => {
      const { caseId } = request.params;
      await findOwnCase(db, request.user.id, caseId);
      const { q, k, kind } = request.query;
      if (q === undefined) throw new HttpError(400, 'querystring/q is required', 'FST_ERR_VALIDATION', 'q');
      const kinds = kind === undefined ? undefined : [kind];
      const result = await orUnavailable(retrieve(db, embedder, { caseId, query: q, k: k === undefined ? SEARCH_DEFAULT_K : Number(k), kinds }));
      if (result.vectors.limitReached) request.log.info({ caseId, vectorsRead: result.vectors.read }, 'search: the case has more vectors than the vector side reads');
      return { passages: result.passages.map(passageJson) };
    },
  );
}
