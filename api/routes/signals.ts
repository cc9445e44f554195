/**
 * `POST /v1/cases/:caseId/signals/extract` `{ documentId | messageIds }`: signals extracted on
 * demand (extractSignalsWorkflow, queue `ingest`) from a completed document of the case (its
 * signals are the case's, Decision 22), or from user messages of one thread of the case; 202
 * `{ workflowId }`. The run is named by what it reads (`extract-signals-<documentId or
 * threadId>-<hash>`), so the same request joins an open run, follows a failed one and never
 * repeats a completed one. Nothing is written before the start: a start that may or may not
 * have landed is a 503 that is safe to repeat (as the URL route's).
 */
import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { messages, threads } from '../../activities/db/schema/index.js';
import { findOwnDocument } from '../../activities/documents/store.js';
import { startAndClassify } from '../../activities/handoff.js';
import { extractionWorkflowId, startExtractSignals } from '../../activities/signal-extraction.js';
import type { ExtractSignalsInput, SignalSource } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { badRequest, conflict, notFound, unavailable } from '../errors.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { uuid, withErrors } from './chat-schemas.js';
import { START_UNCONFIRMED } from './urls.js';

/** Messages one request may name: each batch reads at most SIGNAL_EXTRACTION_MAX_MESSAGES of them. */
export const EXTRACT_MAX_MESSAGES = 100;

const params = { type: 'object', properties: { caseId: uuid }, required: ['caseId'], additionalProperties: false } as const;
const body = {
  type: 'object',
  properties: {
    documentId: { ...uuid, description: 'a completed document of the case: its signals are the case\'s' },
    messageIds: {
      type: 'array', items: uuid, minItems: 1, maxItems: EXTRACT_MAX_MESSAGES, uniqueItems: true,
      description: 'user messages of one thread of the case: their signals are the thread\'s',
    },
  },
  additionalProperties: false,
} as const;
const accepted = {
  type: 'object',
  properties: { workflowId: { type: 'string', description: 'extract-signals-<documentId or threadId>-<hash>; its result counts batches and signals' } },
  required: ['workflowId'],
} as const;

interface ExtractBody {
  documentId?: string;
  messageIds?: string[];
}

/** The document's source and the run's id: a completed document of this case. */
async function documentSource(deps: RouteDeps, userId: string, caseId: string, documentId: string) {
  const doc = await findOwnDocument(deps.db, userId, documentId);
  if (!doc) throw notFound('document');
  if (doc.caseId !== caseId) throw badRequest('documentId', 'body/documentId is not a document of this case');
  if (doc.processingStatus !== 'completed') throw conflict(`the document is ${doc.processingStatus}: signals are extracted from a processed document`);
  const source: SignalSource = { kind: 'document', documentId };
  return { source, workflowId: extractionWorkflowId(source, doc.contentHash) };
}

/** The messages' source and the run's id: user messages of the caller, all of one thread of this case. */
async function messagesSource(deps: RouteDeps, userId: string, caseId: string, messageIds: string[]) {
  const rows = await deps.db
    .select({ id: messages.id, role: messages.role, threadId: messages.threadId, caseId: threads.caseId })
    .from(messages)
    .innerJoin(threads, eq(threads.id, messages.threadId))
    .where(and(inArray(messages.id, messageIds), eq(threads.userId, userId)));
  if (rows.length < messageIds.length) throw notFound('message');
  if (rows.some((r) => r.role !== 'user')) throw badRequest('messageIds', 'body/messageIds must name user messages');
  const threadIds = new Set(rows.map((r) => r.threadId));
  if (threadIds.size > 1) throw badRequest('messageIds', 'body/messageIds must be messages of one thread');
  if (rows[0]!.caseId !== caseId) throw badRequest('messageIds', 'body/messageIds are not messages of a thread of this case');
  const source: SignalSource = { kind: 'messages', threadId: rows[0]!.threadId, messageIds };
  return { source, workflowId: extractionWorkflowId(source) };
}

export async function signalRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  app.post<{ Params: { caseId: string }; Body: ExtractBody }>(
    '/v1/cases/:caseId/signals/extract',
    { schema: { tags: ['cases'], params, headers: idempotencyHeaders, body, response: withErrors({ 202: accepted }) }, ...deps.startingPost },
    async (request, reply) => {
      const userId = request.user.id;
      const { id: caseId } = await findOwnCase(deps.db, userId, request.params.caseId);
      const { documentId, messageIds } = request.body ?? {};
      if ((documentId === undefined) === (messageIds === undefined)) throw badRequest('body', 'body must name a documentId or messageIds (one of them)');
      const { source, workflowId } = documentId
        ? await documentSource(deps, userId, caseId, documentId)
        : await messagesSource(deps, userId, caseId, messageIds!);
      const input: ExtractSignalsInput = { caseId, userId, correlationId: randomUUID(), source, queues: deps.config.queues };
      const sent = await startAndClassify((deadline) => startExtractSignals(deps.temporal, input, workflowId, deadline));
      if (sent.outcome === 'rejected') throw sent.error;
      if (sent.outcome !== 'delivered') throw unavailable(sent.outcome === 'not-sent' ? 'the workflow service is unavailable: retry later' : START_UNCONFIRMED);
      request.log.info({ workflowId, source: source.kind }, 'signal extraction started or joined');
      return reply.code(202).send({ workflowId });
    },
  );
}
