/**
 * `GET /v1/events`: the caller's audit trail, oldest first, paged by an id cursor. With
 * `scope=system`, an admin reads the events that belong to no user (schedules,
 * maintenance) instead; those never show in a user's scope (Decision 18).
 */
import { and, asc, eq, gt, isNull, type SQL } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { events, type EventRow } from '../../activities/db/schema/index.js';
import { assertAdmin } from '../admin.js';
import type { RouteDeps } from '../app.js';
import { errorBodySchema, namedPattern } from '../errors.js';
import { uuid, withErrors } from './chat-schemas.js';

const DEFAULT_LIMIT = 50;

/** Query strings are not coerced (bodies must not be), so numbers arrive as checked digit strings. */
const querystring = {
  type: 'object',
  properties: {
    scope: { type: 'string', enum: ['user', 'system'], description: "user (default): the caller's events; system: events of no user, admin keys only (else 403)" },
    caseId: uuid,
    threadId: uuid,
    documentId: uuid,
    type: { type: 'string', minLength: 1, maxLength: 100 },
    after: { type: 'string', description: 'an event id: the page starts after it', ...namedPattern('^(0|[1-9][0-9]{0,14})$', 'must be an event id (a non-negative integer)') },
    limit: { type: 'string', description: `1-500, default ${DEFAULT_LIMIT}`, ...namedPattern('^([1-9][0-9]?|[1-4][0-9]{2}|500)$', 'must be an integer from 1 to 500') },
  },
  additionalProperties: false,
} as const;

const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    type: { type: 'string' },
    caseId: { anyOf: [uuid, { type: 'null' }] },
    threadId: { anyOf: [uuid, { type: 'null' }] },
    documentId: { anyOf: [uuid, { type: 'null' }] },
    correlationId: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    workflowId: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    runId: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    payload: { type: 'object', additionalProperties: true },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const pageSchema = {
  type: 'object',
  properties: {
    events: { type: 'array', items: eventSchema },
    nextAfter: { anyOf: [{ type: 'integer' }, { type: 'null' }], description: 'pass as `after` for the next page; null on the last page' },
  },
  required: ['events', 'nextAfter'],
} as const;

interface EventQuery {
  scope?: 'user' | 'system';
  caseId?: string;
  threadId?: string;
  documentId?: string;
  type?: string;
  after?: string;
  limit?: string;
}

function filtersFor(userId: string, query: EventQuery): SQL[] {
  const filters: SQL[] = [query.scope === 'system' ? isNull(events.userId) : eq(events.userId, userId)];
  if (query.caseId) filters.push(eq(events.caseId, query.caseId));
  if (query.threadId) filters.push(eq(events.threadId, query.threadId));
  if (query.documentId) filters.push(eq(events.documentId, query.documentId));
  if (query.type) filters.push(eq(events.type, query.type));
  if (query.after) filters.push(gt(events.id, Number(query.after)));
  return filters;
}

function eventJson(row: EventRow) {
  return {
    id: row.id,
    type: row.type,
    caseId: row.caseId,
    threadId: row.threadId,
    documentId: row.documentId,
    correlationId: row.correlationId,
    workflowId: row.workflowId,
    runId: row.runId,
    payload: row.payload,
    createdAt: row.createdAt.toISOString(),
  };
}

export async function eventRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  app.get<{ Querystring: EventQuery }>(
    '/v1/events',
    {
      schema: {
        tags: ['runs'],
        querystring,
        response: withErrors({ 200: pageSchema, 403: { ...errorBodySchema, description: 'scope=system with a key that is not an admin key' } }),
      },
    },
    async (request) => {
      if (request.query.scope === 'system') assertAdmin(request.user, 'scope=system');
      const limit = request.query.limit ? Number(request.query.limit) : DEFAULT_LIMIT;
      const rows = await deps.db
        .select()
        .from(events)
        .where(and(...filtersFor(request.user.id, request.query)))
        .orderBy(asc(events.id))
        .limit(limit);
      const full = rows.length === limit;
      return { events: rows.map(eventJson), nextAfter: full ? rows[rows.length - 1]!.id : null };
    },
  );
}
