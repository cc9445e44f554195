/**
 * Evidence. `POST /v1/cases/:caseId/evidence` stores an item `pending` (`storeEvidence`, with
 * its `Idempotency-Key` answer in the same transaction) and hands it to `ingestEvidence`
 * through the shared hand-off (api/handoff.ts): 202. The same normalised text in the case is
 * a 200 with the existing item that starts nothing, unless the item `failed`: then it is
 * started again (Decision 31). `GET /v1/cases/:caseId/evidence` (a case's items, newest
 * first, paged) and `GET /v1/evidence/:evidenceId` show each item with its status and error,
 * its scores, its links to signals and its contradictions. Foreign and unknown ids are the
 * same 404.
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { documents, evidence } from '../../activities/db/schema/index.js';
import { relationsOf, type Relations } from '../../activities/evidence/read.js';
import { evidenceHandOff } from '../../activities/evidence/start.js';
import { evidenceSummaryColumns, findOwnEvidence, storeEvidence, type EvidenceSummary } from '../../activities/evidence/store.js';
import type { Queryable } from '../../activities/events.js';
import { normaliseSubmittedUrl } from '../../activities/web/ingest-start.js';
import { MAX_URL_CHARS } from '../../activities/web/url-policy.js';
import { EVIDENCE_DEFAULTS } from '../../workers/config.js';
import { workflowIds } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { badRequest, nonBlank, notFound } from '../errors.js';
import { deliver } from '../handoff.js';
import { commitAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { limited, pageOf, pageQueryProperties, pageSchema, readPage, timeIdKeyset, type PageQuery } from '../pagination.js';
import { caseParams, type CaseParams } from './case-schemas.js';
import { uuid, withErrors } from './chat-schemas.js';
import { evidenceJson, evidenceSchema } from './evidence-schemas.js';

/**
 * Newest first: what a reader of a case's evidence wants first is what just arrived, and a
 * page that is read while items arrive neither repeats nor skips one (new items land before
 * the first page, never inside the pages that follow).
 */
const evidenceKeyset = timeIdKeyset('evidence', evidence.createdAt, evidence.id, 'newest-first');

/** Every item carries its links and contradictions: a page is bounded even without `limit`. */
export const EVIDENCE_DEFAULT_PAGE = 50;

const listQuery = {
  type: 'object',
  properties: { ...pageQueryProperties, limit: { ...pageQueryProperties.limit, description: `1-500; absent: ${EVIDENCE_DEFAULT_PAGE}` } },
  additionalProperties: false,
} as const;

interface SubmitBody {
  text: string;
  sourceUrl?: string;
  sourceTitle?: string;
  documentId?: string;
}

/** A source title is a label, not a text. */
const SOURCE_TITLE_MAX_CHARS = 500;
const NO_RELATIONS: Relations = { links: [], contradictions: [] };

/** The source URL as given (its fragment may point at a section), once it is an http(s) URL without credentials. */
function readSourceUrl(raw: string): string {
  const checked = normaliseSubmittedUrl(raw);
  if ('problem' in checked) throw badRequest('sourceUrl', checked.problem);
  return new URL(raw.trim()).href;
}

/** A document the user does not have is a 404 (unknown and foreign alike); one of another case of theirs, a 400. */
async function assertDocumentOfCase(db: Queryable, userId: string, caseId: string, documentId: string): Promise<void> {
  const [doc] = await db.select({ caseId: documents.caseId }).from(documents).where(and(eq(documents.id, documentId), eq(documents.userId, userId)));
  if (!doc) throw notFound('document');
  if (doc.caseId !== caseId) throw badRequest('documentId', 'must be a document of this case');
}

const answerOf = async (db: Queryable, item: EvidenceSummary, created: boolean) => ({
  evidence: evidenceJson(item, created ? NO_RELATIONS : (await relationsOf(db, item.caseId, [item.id])).get(item.id)!),
  workflowId: workflowIds.evidence(item.caseId, item.contentHash),
});

const evidenceParams = { type: 'object', properties: { evidenceId: uuid }, required: ['evidenceId'], additionalProperties: false } as const;

export async function evidenceRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['evidence'];
  const maxChars = deps.config.evidence?.maxChars ?? EVIDENCE_DEFAULTS.maxChars;
  const submitBody = {
    type: 'object',
    properties: {
      text: { type: 'string', minLength: 1, maxLength: maxChars, ...nonBlank, description: `at most ${maxChars} characters (EVIDENCE_MAX_CHARS); stored with whitespace collapsed` },
      sourceUrl: { type: 'string', minLength: 1, maxLength: MAX_URL_CHARS, description: 'where it comes from: an absolute http or https URL' },
      sourceTitle: { type: 'string', minLength: 1, maxLength: SOURCE_TITLE_MAX_CHARS, ...nonBlank },
      documentId: { ...uuid, description: 'a document of this case it was taken from' },
    },
    required: ['text'],
    additionalProperties: false,
  } as const;
  const answer = { type: 'object', properties: { evidence: evidenceSchema, workflowId: { type: 'string' } }, required: ['evidence', 'workflowId'] } as const;

  app.post<{ Params: CaseParams; Body: SubmitBody }>(
    '/v1/cases/:caseId/evidence',
    {
      schema: {
        tags,
        description: 'Submits a piece of evidence: 202 and its ingestEvidence run; the same text in the case again is a 200 with the item, starting nothing unless it failed.',
        params: caseParams,
        headers: idempotencyHeaders,
        body: submitBody,
        response: withErrors({ 200: answer, 202: answer }),
      },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const userId = request.user.id;
      const { caseId } = request.params;
      const { text, sourceUrl, sourceTitle, documentId } = request.body;
      await findOwnCase(db, userId, caseId);
      const source = { sourceUrl: sourceUrl === undefined ? null : readSourceUrl(sourceUrl), sourceTitle: sourceTitle?.trim() ?? null };
      if (documentId) await assertDocumentOfCase(db, userId, caseId, documentId);
      // The store and its 202 commit together (`commitAnswer`): a gateway that dies after the
      // store leaves that answer for the retry, and the item for the redelivery job.
      const { stored, starts } = await db.transaction(async (tx) => {
        const stored = await storeEvidence(tx, { caseId, userId, text, ...source, documentId: documentId ?? null });
        const starts = stored.created || stored.restarted;
        if (starts) await commitAnswer(tx, request, 202, await answerOf(tx, stored.evidence, stored.created));
        return { stored, starts };
      });
      if (!starts) return reply.code(200).send(await answerOf(db, stored.evidence, false));
      const { row } = await deliver(deps, request, evidenceHandOff(deps.temporal, deps.config.queues), stored.evidence);
      return reply.code(202).send(await answerOf(db, row, stored.created));
    },
  );

  app.get<{ Params: CaseParams; Querystring: PageQuery }>(
    '/v1/cases/:caseId/evidence',
    { schema: { tags, params: caseParams, querystring: listQuery, response: withErrors({ 200: pageSchema('evidence', evidenceSchema) }) } },
    async (request) => {
      const { caseId } = request.params;
      await findOwnCase(db, request.user.id, caseId);
      const page = readPage(evidenceKeyset, request.query);
      page.limit ??= EVIDENCE_DEFAULT_PAGE;
      const query = db
        .select({ ...evidenceSummaryColumns, cursorKey: evidenceKeyset.key })
        .from(evidence)
        .where(and(eq(evidence.caseId, caseId), page.after))
        .orderBy(...evidenceKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(evidenceKeyset, page, await limited(query, page));
      const relations = await relationsOf(db, caseId, rows.map((r) => r.id));
      return { evidence: rows.map((r) => evidenceJson(r, relations.get(r.id)!)), nextAfter };
    },
  );

  app.get<{ Params: { evidenceId: string } }>(
    '/v1/evidence/:evidenceId',
    { schema: { tags, params: evidenceParams, response: withErrors({ 200: evidenceSchema }) } },
    async (request) => {
      const item = await findOwnEvidence(db, request.user.id, request.params.evidenceId);
      if (!item) throw notFound('evidence');
      const relations = await relationsOf(db, item.caseId, [item.id]);
      return evidenceJson(item, relations.get(item.id)!);
    },
  );
}
