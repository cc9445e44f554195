/**
 * Reading evidence: `GET /v1/cases/:caseId/evidence` (a case's items, newest first, paged)
 * and `GET /v1/evidence/:evidenceId`, each item with its status and error, its scores, its
 * links to signals and its contradictions. Foreign and unknown ids are the same 404. (Items
 * are submitted by `POST /v1/cases/:caseId/evidence`, on the shared hand-off.)
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { evidence } from '../../activities/db/schema/index.js';
import { relationsOf } from '../../activities/evidence/read.js';
import { evidenceSummaryColumns, findOwnEvidence } from '../../activities/evidence/store.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { notFound } from '../errors.js';
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

const evidenceParams = { type: 'object', properties: { evidenceId: uuid }, required: ['evidenceId'], additionalProperties: false } as const;

export async function evidenceRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['evidence'];

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
