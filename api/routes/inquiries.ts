/**
 * Phase 2B inquiries: a question on a case (`POST /v1/cases/:caseId/inquiries`, 201), a case's
 * inquiries (newest first, paged), one inquiry with each kind's document versions, and the
 * starts of its kinds (`POST /v1/inquiries/:inquiryId/research|debate|critique`, 202
 * `{ workflowId }`: `inquiry-<kind>-<inquiryId>`; while that runs, the same answer and no new
 * run; after it closed, a new version). The caller's only: another user's case or inquiry is
 * a 404. The kinds' starts write nothing first, so a start the server did not confirm is a 503
 * that is safe to repeat (as the URL route).
 */
import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { documents, inquiries, inquiryDocuments, INQUIRY_KINDS, type InquiryKind, type InquiryRow } from '../../activities/db/schema/index.js';
import { startAndClassify } from '../../activities/handoff.js';
import { startInquiry } from '../../activities/inquiries/start.js';
import type { InquiryInput } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { nonBlank, notFound, unavailable } from '../errors.js';
import { commitAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { limited, pageOf, pageQuery, pageSchema, readPage, timeIdKeyset, type PageQuery } from '../pagination.js';
import { caseParams } from './case-schemas.js';
import { uuid, withErrors } from './chat-schemas.js';
import { START_UNCONFIRMED } from './urls.js';

const tags = ['inquiries'];
const inquiryKeyset = timeIdKeyset('inquiries', inquiries.createdAt, inquiries.id, 'newest-first');
export const QUESTION_MAX_CHARS = 2_000;

const inquiryParams = { type: 'object', properties: { inquiryId: uuid }, required: ['inquiryId'], additionalProperties: false } as const;
const createBody = {
  type: 'object',
  properties: { question: { type: 'string', minLength: 1, maxLength: QUESTION_MAX_CHARS, ...nonBlank } },
  required: ['question'],
  additionalProperties: false,
} as const;
const date = { type: 'string', format: 'date-time' } as const;
const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });
const inquirySchema = {
  type: 'object',
  properties: { id: uuid, caseId: uuid, question: { type: 'string' }, createdAt: date, updatedAt: date },
  required: ['id', 'caseId', 'question', 'createdAt', 'updatedAt'],
} as const;
const versionSchema = {
  type: 'object',
  properties: {
    version: { type: 'integer' }, status: { type: 'string', enum: ['running', 'completed', 'failed'] }, workflowId: { type: 'string' },
    documentId: nullable(uuid), title: nullable({ type: 'string' }), processingStatus: nullable({ type: 'string' }),
    error: nullable({ type: 'string' }), createdAt: date, updatedAt: date,
  },
  required: ['version', 'status', 'workflowId', 'documentId', 'title', 'processingStatus', 'error', 'createdAt', 'updatedAt'],
} as const;
const kindsSchema = {
  type: 'object',
  description: "each kind's document versions, oldest first",
  properties: Object.fromEntries(INQUIRY_KINDS.map((k) => [k, { type: 'array', items: versionSchema }])),
  required: [...INQUIRY_KINDS],
} as const;
const inquiryWithDocuments = {
  type: 'object',
  properties: { ...inquirySchema.properties, documents: kindsSchema },
  required: [...inquirySchema.required, 'documents'],
} as const;
const accepted = {
  type: 'object',
  properties: { workflowId: { type: 'string', description: 'inquiry-<kind>-<inquiryId>' } },
  required: ['workflowId'],
} as const;

const inquiryJson = (row: InquiryRow) => ({ id: row.id, caseId: row.caseId, question: row.question, createdAt: row.createdAt, updatedAt: row.updatedAt });

/** An inquiry of the user, or a 404 (unknown and foreign look the same). */
async function findOwnInquiry(deps: RouteDeps, userId: string, inquiryId: string): Promise<InquiryRow> {
  const [row] = await deps.db.select().from(inquiries).where(and(eq(inquiries.id, inquiryId), eq(inquiries.userId, userId)));
  if (!row) throw notFound('inquiry');
  return row;
}

/** Each kind's versions, oldest first, with their documents' titles and processing status. */
async function versionsOf(deps: RouteDeps, inquiryId: string) {
  const rows = await deps.db
    .select({
      kind: inquiryDocuments.kind, version: inquiryDocuments.version, status: inquiryDocuments.status, workflowId: inquiryDocuments.workflowId,
      documentId: inquiryDocuments.documentId, title: documents.title, processingStatus: documents.processingStatus, error: inquiryDocuments.error,
      createdAt: inquiryDocuments.createdAt, updatedAt: inquiryDocuments.updatedAt,
    })
    .from(inquiryDocuments)
    .leftJoin(documents, eq(documents.id, inquiryDocuments.documentId))
    .where(eq(inquiryDocuments.inquiryId, inquiryId))
    .orderBy(asc(inquiryDocuments.kind), asc(inquiryDocuments.version));
  const byKind = Object.fromEntries(INQUIRY_KINDS.map((k) => [k, [] as unknown[]])) as Record<InquiryKind, unknown[]>;
  for (const { kind, ...version } of rows) byKind[kind]?.push(version);
  return byKind;
}

/** The kind's start through the shared classification; a 503 if its outcome stays uncertain (nothing was written). */
async function start(deps: RouteDeps, input: InquiryInput) {
  const sent = await startAndClassify((deadline) => startInquiry(deps.temporal, input, { deadline }));
  if (sent.outcome === 'delivered') return sent.value;
  if (sent.outcome === 'rejected') throw sent.error;
  throw unavailable(sent.outcome === 'not-sent' ? 'the workflow service is unavailable: retry later' : START_UNCONFIRMED);
}

export async function inquiryRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;

  app.post<{ Params: { caseId: string }; Body: { question: string } }>(
    '/v1/cases/:caseId/inquiries',
    { schema: { tags, params: caseParams, headers: idempotencyHeaders, body: createBody, response: withErrors({ 201: inquirySchema }) }, ...deps.startingPost },
    async (request, reply) => {
      const userId = request.user.id;
      const { id: caseId } = await findOwnCase(db, userId, request.params.caseId);
      const answer = await db.transaction(async (tx) => {
        const [row] = await tx.insert(inquiries).values({ caseId, userId, question: request.body.question.trim() }).returning();
        const json = inquiryJson(row!);
        await commitAnswer(tx, request, 201, json);
        return json;
      });
      return reply.code(201).send(answer);
    },
  );

  app.get<{ Params: { caseId: string }; Querystring: PageQuery }>(
    '/v1/cases/:caseId/inquiries',
    { schema: { tags, params: caseParams, querystring: pageQuery, response: withErrors({ 200: pageSchema('inquiries', inquirySchema) }) } },
    async (request) => {
      const { caseId } = request.params;
      await findOwnCase(db, request.user.id, caseId);
      const page = readPage(inquiryKeyset, request.query);
      const query = db
        .select({ row: inquiries, cursorKey: inquiryKeyset.key })
        .from(inquiries)
        .where(and(eq(inquiries.caseId, caseId), page.after))
        .orderBy(...inquiryKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(inquiryKeyset, page, await limited(query, page));
      return { inquiries: rows.map(({ row }) => inquiryJson(row)), nextAfter };
    },
  );

  app.get<{ Params: { inquiryId: string } }>(
    '/v1/inquiries/:inquiryId',
    { schema: { tags, params: inquiryParams, response: withErrors({ 200: inquiryWithDocuments }) } },
    async (request) => {
      const row = await findOwnInquiry(deps, request.user.id, request.params.inquiryId);
      return { ...inquiryJson(row), documents: await versionsOf(deps, row.id) };
    },
  );

  for (const kind of INQUIRY_KINDS) {
    app.post<{ Params: { inquiryId: string } }>(
      `/v1/inquiries/:inquiryId/${kind}`,
      { schema: { tags, params: inquiryParams, headers: idempotencyHeaders, response: withErrors({ 202: accepted }) }, ...deps.startingPost },
      async (request, reply) => {
        const userId = request.user.id;
        const inquiry = await findOwnInquiry(deps, userId, request.params.inquiryId);
        const input: InquiryInput = { inquiryId: inquiry.id, kind, caseId: inquiry.caseId, userId, correlationId: randomUUID(), queues: deps.config.queues };
        const { workflowId, runId } = await start(deps, input);
        request.log.info({ workflowId, runId }, 'inquiry started or joined');
        return reply.code(202).send({ workflowId });
      },
    );
  }
}
