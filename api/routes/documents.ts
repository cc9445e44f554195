/**
 * Documents: `POST /v1/cases/:caseId/documents` stores an upload (`pending`) and starts
 * `processDocument`; `GET /v1/documents/:documentId` shows how far it got; `POST
 * /v1/documents/:documentId/reprocess` processes a failed or completed one again. The hand-off
 * follows chat's lesson: the row is committed first, then the start. A start that certainly
 * did not happen fails the document (and re-uploading or reprocessing it tries again); one
 * that may have happened leaves it pending and still answers 202, since a repeated start of
 * `document-<id>` is safe. A duplicate upload (same case, title, content) answers 200 with the
 * existing document and starts nothing, unless that document failed: then it is processed
 * again (Decision 26 as amended).
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../../activities/db/client.js';
import { cases } from '../../activities/db/schema/index.js';
import { isReadableType, READABLE_TYPES } from '../../activities/documents/extract.js';
import { documentHandOff } from '../../activities/documents/start.js';
import { findOwnDocument, storeDocument, transitionDocument, type DocumentSummary } from '../../activities/documents/store.js';
import { runIsOpen } from '../../activities/handoff.js';
import { DOCUMENT_DEFAULTS } from '../../workers/config.js';
import { workflowIds } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { badRequest, conflict, nonBlank, notFound, temporalCall } from '../errors.js';
import { deliver } from '../handoff.js';
import { commitAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { uuid, withErrors } from './chat-schemas.js';
import { documentJson, documentSchema } from './document-schemas.js';

/** What a document processed again starts from. */
const PENDING = { processingStatus: 'pending', error: null } as const;
/** Room in the body for the title, the type and the JSON around the base64. */
const BODY_SLACK_BYTES = 16 * 1024;

const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

interface UploadBody {
  title: string;
  contentType: string;
  content: string;
}

async function assertOwnCase(db: Db, userId: string, caseId: string): Promise<void> {
  const [row] = await db.select({ id: cases.id }).from(cases).where(and(eq(cases.id, caseId), eq(cases.userId, userId)));
  if (!row) throw notFound('case');
}

/** The type without parameters, and the content as stored: text as it is, a PDF decoded. */
function readUpload(body: UploadBody, maxBytes: number): { contentType: string; content: string | Buffer } {
  const contentType = body.contentType.split(';')[0]!.trim().toLowerCase();
  if (!isReadableType(contentType)) throw badRequest('contentType', `must be one of ${READABLE_TYPES.join(', ')}`);
  const tooLarge = () => badRequest('content', `is larger than DOCUMENT_MAX_BYTES (${maxBytes} bytes${contentType === 'application/pdf' ? ' decoded' : ''})`);
  if (contentType !== 'application/pdf') {
    if (Buffer.byteLength(body.content, 'utf8') > maxBytes) throw tooLarge();
    return { contentType, content: body.content };
  }
  // Line breaks are allowed: `base64` wraps its output.
  const encoded = body.content.replace(/\s+/g, '');
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw badRequest('content', 'is not valid base64 (a PDF is sent base64-encoded)');
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length > maxBytes) throw tooLarge();
  // The header may follow a little junk; readers look for it in the first 1 KiB.
  if (!bytes.subarray(0, 1024).includes('%PDF-')) throw badRequest('content', 'is not a PDF (it has no %PDF- header)');
  return { contentType, content: bytes };
}

/** Hands the document over through the shared hand-off; on a start that certainly failed, fails the document and throws. */
async function handOver(deps: RouteDeps, request: FastifyRequest, doc: DocumentSummary): Promise<DocumentSummary> {
  return (await deliver(deps, request, documentHandOff(deps.temporal, deps.config.queues), doc)).row;
}

/** Whether `document-<id>` has an open run (none at all is not open); 503 when the service cannot say. */
const documentRunIsOpen = (deps: RouteDeps, workflowId: string) => temporalCall(deps.temporal, () => runIsOpen(deps.temporal, workflowId));

/**
 * Hands a failed or completed document over again, moved back to pending first (guarded: of
 * two concurrent calls one moves it). A pending or processing one is a 409 while its run is
 * open; with none open (a start that was lost, a run that was terminated) it is handed over.
 */
async function reprocess(deps: RouteDeps, request: FastifyRequest, found: DocumentSummary): Promise<void> {
  const workflowId = workflowIds.document(found.id);
  // Twice at most: a run that ends between the move and the look at it leaves the document movable.
  for (let attempt = 1; ; attempt++) {
    const reopened = await deps.db.transaction(async (tx) => {
      const row = await transitionDocument(tx, found.id, ['failed', 'completed'], PENDING);
      if (row) await commitAnswer(tx, request, 202, { workflowId });
      return row;
    });
    if (reopened) {
      await handOver(deps, request, reopened);
      return;
    }
    if (await documentRunIsOpen(deps, workflowId)) throw conflict('the document is being processed: reprocess it once it has completed or failed');
    const current = await findOwnDocument(deps.db, found.userId, found.id);
    if (!current) throw notFound('document');
    if (current.processingStatus === 'pending' || current.processingStatus === 'processing') {
      await handOver(deps, request, current);
      return;
    }
    if (attempt >= 2) throw conflict('the document changed while it was being reprocessed: try again');
  }
}

export async function documentRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['documents'];
  const maxBytes = deps.config.documents?.maxBytes ?? DOCUMENT_DEFAULTS.maxBytes;
  const body = {
    type: 'object',
    properties: {
      title: { type: 'string', minLength: 1, maxLength: 500, ...nonBlank },
      contentType: { type: 'string', minLength: 1, maxLength: 200, description: READABLE_TYPES.join(', ') },
      content: { type: 'string', minLength: 1, description: 'the text, or the PDF base64-encoded' },
    },
    required: ['title', 'contentType', 'content'],
    additionalProperties: false,
  } as const;
  const answer = { type: 'object', properties: { document: documentSchema, workflowId: { type: 'string' } }, required: ['document', 'workflowId'] } as const;
  const started = { type: 'object', properties: { workflowId: { type: 'string', description: 'document-<documentId>' } }, required: ['workflowId'] } as const;
  const params = (name: string) => ({ type: 'object', properties: { [name]: uuid }, required: [name], additionalProperties: false }) as const;

  app.post<{ Params: { caseId: string }; Body: UploadBody }>(
    '/v1/cases/:caseId/documents',
    {
      bodyLimit: base64Length(maxBytes) + BODY_SLACK_BYTES,
      schema: { tags, params: params('caseId'), headers: idempotencyHeaders, body, response: withErrors({ 200: answer, 202: answer }) },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const userId = request.user.id;
      await assertOwnCase(db, userId, request.params.caseId);
      const upload = readUpload(request.body, maxBytes);
      // The store and its answer commit together (`commitAnswer`), so a gateway that dies
      // after the store leaves the 202 for the retry, not a 200 for a document it made itself.
      const { existing, document } = await db.transaction(async (tx) => {
        const stored = await storeDocument(tx, { caseId: request.params.caseId, userId, source: 'upload', title: request.body.title.trim(), ...upload });
        let doc = stored.document;
        if (!stored.created) {
          if (doc.processingStatus !== 'failed') return { existing: true, document: doc };
          // A failed one (whatever failed it) is processed again: a new run of its id.
          doc = (await transitionDocument(tx, doc.id, ['failed'], PENDING)) ?? doc;
        }
        await commitAnswer(tx, request, 202, { document: documentJson(doc), workflowId: workflowIds.document(doc.id) });
        return { existing: false, document: doc };
      });
      let doc = document;
      const workflowId = workflowIds.document(doc.id);
      if (existing) {
        // A pending one may never have been started: a repeated start finds the run if it exists.
        if (doc.processingStatus === 'pending') doc = await handOver(deps, request, doc);
        return reply.code(200).send({ document: documentJson(doc), workflowId });
      }
      doc = await handOver(deps, request, doc);
      return reply.code(202).send({ document: documentJson(doc), workflowId });
    },
  );

  app.post<{ Params: { documentId: string } }>(
    '/v1/documents/:documentId/reprocess',
    {
      schema: {
        tags,
        description: 'Processes a failed or completed document again (a new run of document-<id>); 409 while it is being processed.',
        params: params('documentId'),
        headers: idempotencyHeaders,
        response: withErrors({ 202: started }),
      },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const found = await findOwnDocument(db, request.user.id, request.params.documentId);
      if (!found) throw notFound('document');
      await reprocess(deps, request, found);
      return reply.code(202).send({ workflowId: workflowIds.document(found.id) });
    },
  );

  app.get<{ Params: { documentId: string } }>(
    '/v1/documents/:documentId',
    { schema: { tags, params: params('documentId'), response: withErrors({ 200: documentSchema }) } },
    async (request) => {
      const doc = await findOwnDocument(db, request.user.id, request.params.documentId);
      if (!doc) throw notFound('document');
      return documentJson(doc);
    },
  );
}
