/**
 * JSON schemas and row → JSON mappers for cases. A case answers with its counts (what
 * exists of it so far: threads and active signals) and, read alone, its brief's summary:
 * null until its first evolution, then the latest version's. Payloads grow as documents,
 * evidence and briefs land; they never lose a key.
 */
import type { CaseRow } from '../../activities/db/schema/index.js';
import type { BriefSummary } from '../brief-store.js';
import type { CaseCounts } from '../case-store.js';
import { nonBlank } from '../errors.js';
import { briefSummaryJson, briefSummarySchema } from './brief-schemas.js';
import { caseWorkingOverviewSchema } from '../working-views.js';
import { nullable, timestamp, uuid } from './chat-schemas.js';

export const caseParams = {
  type: 'object',
  properties: { caseId: uuid },
  required: ['caseId'],
  additionalProperties: false,
} as const;

export interface CaseParams { caseId: string }

export const createCaseBody = {
  type: 'object',
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 500, ...nonBlank },
    description: { type: 'string', maxLength: 20_000 },
    domain: { type: 'string', minLength: 1, maxLength: 100, ...nonBlank, description: 'what the case is about (skills are chosen by it)' },
    threadId: { ...uuid, description: 'a thread of the caller to attach at creation' },
  },
  required: ['title'],
  additionalProperties: false,
} as const;

export interface CreateCaseBody {
  title: string;
  description?: string;
  domain?: string;
  threadId?: string;
}

const countsSchema = {
  type: 'object',
  properties: {
    threads: { type: 'integer' },
    signals: { type: 'integer', description: 'active signals of the case, from its threads and its own' },
  },
  required: ['threads', 'signals'],
} as const;

const caseProperties = {
  id: uuid,
  title: { type: 'string' },
  description: nullable({ type: 'string' }),
  domain: nullable({ type: 'string' }),
  status: { type: 'string' },
  counts: countsSchema,
  createdAt: timestamp,
  updatedAt: timestamp,
} as const;

const caseRequired = ['id', 'title', 'description', 'domain', 'status', 'counts', 'createdAt', 'updatedAt'] as const;

/** A case in a list: its live counts, and the working view's overview (refreshed every few minutes). */
export const caseOverviewSchema = {
  type: 'object',
  properties: { ...caseProperties, overview: caseWorkingOverviewSchema },
  required: [...caseRequired, 'overview'],
} as const;

/** A case read alone (or just created): the overview and its brief. */
export const caseSchema = {
  type: 'object',
  properties: {
    ...caseProperties,
    brief: { ...nullable(briefSummarySchema), description: 'the latest brief version in short (GET …/brief has it whole); null until the first evolution' },
  },
  required: [...caseRequired, 'brief'],
} as const;

export function caseOverviewJson(row: CaseRow, counts: CaseCounts) {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    domain: row.domain,
    status: row.status,
    counts,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function caseJson(row: CaseRow, counts: CaseCounts, brief: BriefSummary | null) {
  return { ...caseOverviewJson(row, counts), brief: briefSummaryJson(brief) };
}
