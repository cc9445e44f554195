/** JSON schemas and row → JSON mappers for a case's brief, its annotations and its summary. */
import type { BriefAnnotationRow } from '../../activities/db/schema/index.js';
import type { BriefSummary, BriefVersion } from '../brief-store.js';
import { namedPattern } from '../errors.js';
import { freeObject, nullable, timestamp, uuid } from './chat-schemas.js';

/** int4, the column's type. */
export const MAX_VERSION = 2_147_483_647;

export const briefParams = {
  type: 'object',
  properties: { caseId: uuid },
  required: ['caseId'],
  additionalProperties: false,
} as const;

export const briefQuery = {
  type: 'object',
  properties: {
    // Query strings are not coerced: a checked digit string, range-checked by the handler.
    version: {
      type: 'string',
      maxLength: 10,
      description: 'an earlier version (0: the empty brief before any evolution); absent: the latest',
      ...namedPattern('^(0|[1-9][0-9]*)$', 'must be a non-negative integer'),
    },
  },
  additionalProperties: false,
} as const;

export const annotationParams = {
  type: 'object',
  properties: { caseId: uuid, annotationId: uuid },
  required: ['caseId', 'annotationId'],
  additionalProperties: false,
} as const;

const itemSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['evidence', 'signal'] },
    id: uuid,
    text: { type: 'string' },
    grounding: { type: 'number' },
  },
  required: ['kind', 'id', 'text'],
} as const;

const sectionSchema = {
  type: 'object',
  properties: {
    key: { type: 'string', enum: ['summary', 'key-claims', 'evidence-for', 'evidence-against', 'open-questions', 'risks'] },
    title: { type: 'string' },
    text: { type: 'string' },
    items: { type: 'array', items: itemSchema },
    grounding: { type: 'number', description: '0-1: the mean grounding of its items (README "Brief")' },
  },
  required: ['key', 'title', 'text', 'items', 'grounding'],
} as const;

export const annotationSchema = {
  type: 'object',
  properties: {
    id: uuid,
    source: { type: 'string', enum: ['brief', 'critique'] },
    kind: { type: 'string', description: 'unsupported-claim, contradicted, stale-evidence (the brief\'s); others from a critique' },
    sectionKey: { type: 'string' },
    subjectKind: nullable({ type: 'string', enum: ['evidence', 'signal'] }),
    subjectId: nullable(uuid),
    message: { type: 'string' },
    status: { type: 'string', enum: ['open', 'resolved'] },
    createdInVersion: { type: 'integer' },
    resolvedInVersion: nullable({ type: 'integer' }),
    resolvedBy: nullable({ type: 'string', enum: ['evolution', 'person', 'critique'] }),
    resolvedAt: nullable(timestamp),
    createdAt: timestamp,
  },
  required: ['id', 'source', 'kind', 'sectionKey', 'subjectKind', 'subjectId', 'message', 'status', 'createdInVersion', 'resolvedInVersion', 'resolvedBy', 'resolvedAt', 'createdAt'],
} as const;

export const briefSchema = {
  type: 'object',
  properties: {
    caseId: uuid,
    version: { type: 'integer', description: '0 before the first evolution' },
    grounding: { type: 'number' },
    sections: { type: 'array', items: sectionSchema },
    changes: { ...nullable(freeObject), description: 'what the evolution\'s window signalled: counts by kind, a sample of ids' },
    createdAt: nullable(timestamp),
    annotations: { type: 'array', items: annotationSchema, description: 'as they stood at this version: open first, then the latest resolved (200 at most)' },
  },
  required: ['caseId', 'version', 'grounding', 'sections', 'changes', 'createdAt', 'annotations'],
} as const;

export const briefSummarySchema = {
  type: 'object',
  properties: {
    version: { type: 'integer' },
    grounding: { type: 'number' },
    updatedAt: timestamp,
    openAnnotations: { type: 'integer' },
  },
  required: ['version', 'grounding', 'updatedAt', 'openAnnotations'],
} as const;

export function annotationJson(row: BriefAnnotationRow) {
  return {
    id: row.id,
    source: row.source,
    kind: row.kind,
    sectionKey: row.sectionKey,
    subjectKind: row.subjectKind,
    subjectId: row.subjectId,
    message: row.message,
    status: row.resolvedAt ? 'resolved' : 'open',
    createdInVersion: row.createdInVersion,
    resolvedInVersion: row.resolvedInVersion,
    resolvedBy: row.resolvedBy,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export function briefJson(caseId: string, brief: BriefVersion) {
  return {
    caseId,
    version: brief.version,
    grounding: brief.grounding,
    sections: brief.sections,
    changes: brief.changes,
    createdAt: brief.createdAt?.toISOString() ?? null,
    annotations: brief.annotations.map(annotationJson),
  };
}

export function briefSummaryJson(summary: BriefSummary | null) {
  return summary && { ...summary, updatedAt: summary.updatedAt.toISOString() };
}
