/**
 * JSON schemas and row → JSON mappers for the chat resources. The response schemas are
 * also the allow-list of what leaves the gateway (only listed fields are serialised), and
 * the OpenAPI document is generated from them.
 */
import type { MessageRow, SignalRow, SuggestionRow, ThreadRow } from '../../activities/db/schema/index.js';
import { errorBodySchema, namedPattern } from '../errors.js';

/**
 * The pattern besides the format: ajv's `uuid` format also takes `urn:uuid:…`, which
 * PostgreSQL's uuid type refuses (a 500 instead of a 400).
 */
export const uuid = {
  type: 'string',
  format: 'uuid',
  ...namedPattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', 'must be a UUID'),
} as const;
export const timestamp = { type: 'string', format: 'date-time' } as const;
export const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;
export const freeObject = { type: 'object', additionalProperties: true } as const;

/** Adds the error answers every authenticated route can give to its success schemas. */
export function withErrors<T extends Record<number, unknown>>(success: T) {
  return { ...success, '4xx': errorBodySchema, '5xx': errorBodySchema };
}

export const threadParams = {
  type: 'object',
  properties: { threadId: uuid },
  required: ['threadId'],
  additionalProperties: false,
} as const;

export const threadSchema = {
  type: 'object',
  properties: {
    id: uuid,
    title: nullable({ type: 'string' }),
    caseId: nullable(uuid),
    kind: { type: 'string', enum: ['chat', 'case-activity'], description: 'case-activity: the thread of a case where its agents post' },
    userTurns: { type: 'integer' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  required: ['id', 'title', 'caseId', 'kind', 'userTurns', 'createdAt', 'updatedAt'],
} as const;

export const messageSchema = {
  type: 'object',
  properties: {
    id: uuid,
    threadId: uuid,
    role: { type: 'string', enum: ['user', 'assistant', 'system'] },
    content: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'complete', 'failed'] },
    metadata: freeObject,
    createdAt: timestamp,
  },
  required: ['id', 'threadId', 'role', 'content', 'status', 'metadata', 'createdAt'],
} as const;

export const signalSchema = {
  type: 'object',
  properties: {
    id: uuid,
    /** Null for a signal of a case alone (Decision 22). */
    threadId: nullable(uuid),
    caseId: nullable(uuid),
    type: { type: 'string' },
    text: { type: 'string' },
    confidence: { type: 'number' },
    temperature: { type: 'string' },
    status: { type: 'string' },
    mergedInto: nullable(uuid),
    sourceMessageId: nullable(uuid),
    referenceCount: { type: 'integer' },
    firstSeenAt: timestamp,
    lastSeenAt: timestamp,
  },
} as const;

export const suggestionSchema = {
  type: 'object',
  properties: {
    id: uuid,
    threadId: uuid,
    kind: { type: 'string', enum: ['agent', 'structure'] },
    agentType: { type: 'string' },
    confidence: { type: 'number' },
    reason: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'accepted', 'declined'] },
    turn: { type: 'integer' },
    workflowId: { ...nullable({ type: 'string' }), description: 'the run its acceptance started: the agent\'s, or the thread\'s case draft (a thread with no case)' },
    agentWorkflowId: { ...nullable({ type: 'string' }), description: 'the agent\'s own run once started' },
    topic: { ...nullable({ type: 'string' }), description: 'what the agent its "yes" starts looks at' },
    createdAt: timestamp,
    decidedAt: nullable(timestamp),
  },
} as const;

const iso = (d: Date): string => d.toISOString();

export function threadJson(row: ThreadRow) {
  return {
    id: row.id,
    title: row.title,
    caseId: row.caseId,
    kind: row.kind,
    userTurns: row.userTurns,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export function messageJson(row: MessageRow) {
  return {
    id: row.id,
    threadId: row.threadId,
    role: row.role,
    content: row.content,
    status: row.status,
    metadata: row.metadata,
    createdAt: iso(row.createdAt),
  };
}

/** Embeddings and text hashes stay inside. */
export function signalJson(row: SignalRow) {
  return {
    id: row.id,
    threadId: row.threadId,
    caseId: row.caseId,
    type: row.type,
    text: row.text,
    confidence: row.confidence,
    temperature: row.temperature,
    status: row.status,
    mergedInto: row.mergedInto,
    sourceMessageId: row.sourceMessageId,
    referenceCount: row.referenceCount,
    firstSeenAt: iso(row.firstSeenAt),
    lastSeenAt: iso(row.lastSeenAt),
  };
}

export function suggestionJson(row: SuggestionRow) {
  return {
    id: row.id,
    threadId: row.threadId,
    kind: row.kind,
    agentType: row.agentType,
    confidence: row.confidence,
    reason: row.reason,
    status: row.status,
    turn: row.turn,
    workflowId: row.workflowId,
    agentWorkflowId: row.agentWorkflowId,
    topic: row.topic,
    createdAt: iso(row.createdAt),
    decidedAt: row.decidedAt ? iso(row.decidedAt) : null,
  };
}
