/** The evidence resource as the gateway shows it: the schema is also the allow-list of fields sent. */
import type { Relations } from '../../activities/evidence/read.js';
import type { EvidenceSummary } from '../../activities/evidence/store.js';
import { workflowIds } from '../../workflows/types.js';
import { nullable, timestamp, uuid } from './chat-schemas.js';

const unit = { type: 'number', minimum: 0, maximum: 1 } as const;

const linkSchema = {
  type: 'object',
  properties: {
    signalId: uuid,
    signalType: { type: 'string', description: 'assumption, goal, constraint, question, risk...' },
    signalText: { type: 'string' },
    relation: { type: 'string', enum: ['supports', 'contradicts', 'neutral'] },
    reasoning: { type: 'string' },
    score: { ...unit, description: 'how strongly the item bears on the signal' },
  },
  required: ['signalId', 'signalType', 'signalText', 'relation', 'reasoning', 'score'],
} as const;

const contradictionSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['evidence', 'signal'], description: 'what the other side is' },
    id: uuid,
    text: { type: 'string', description: "the other side's text, its first 500 characters (… where cut)" },
    reason: { type: 'string' },
    score: unit,
  },
  required: ['kind', 'id', 'text', 'reason', 'score'],
} as const;

export const evidenceSchema = {
  type: 'object',
  properties: {
    id: uuid,
    caseId: uuid,
    text: { type: 'string', description: 'as stored: NUL removed, whitespace collapsed, trimmed' },
    contentHash: { type: 'string', description: 'sha256 (hex) of the text: the same text in a case is one item' },
    source: { type: 'string', enum: ['manual', 'document', 'research'] },
    sourceUrl: nullable({ type: 'string' }),
    sourceTitle: nullable({ type: 'string' }),
    documentId: nullable(uuid),
    status: { type: 'string', enum: ['pending', 'processing', 'completed', 'failed'] },
    error: nullable({ type: 'string', description: 'why ingestion failed' }),
    relevance: nullable({ ...unit, description: 'to the case; null until scored' }),
    credibility: nullable({ ...unit, description: 'null until scored' }),
    links: { type: 'array', items: linkSchema, description: 'the signals it supports or contradicts, strongest first' },
    contradictions: { type: 'array', items: contradictionSchema, description: 'items and signals it conflicts with, strongest first (at most 50)' },
    workflowId: { type: 'string', description: 'its ingestEvidence run: evidence-<caseId>-<first 16 hex of contentHash>' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  required: [
    'id', 'caseId', 'text', 'contentHash', 'source', 'sourceUrl', 'sourceTitle', 'documentId', 'status', 'error',
    'relevance', 'credibility', 'links', 'contradictions', 'workflowId', 'createdAt', 'updatedAt',
  ],
} as const;

export function evidenceJson(item: EvidenceSummary, relations: Relations) {
  return {
    id: item.id,
    caseId: item.caseId,
    text: item.text,
    contentHash: item.contentHash,
    source: item.source,
    sourceUrl: item.sourceUrl,
    sourceTitle: item.sourceTitle,
    documentId: item.documentId,
    status: item.status,
    error: item.error,
    relevance: item.relevance,
    credibility: item.credibility,
    links: relations.links,
    contradictions: relations.contradictions,
    workflowId: workflowIds.evidence(item.caseId, item.contentHash),
    createdAt: item.createdAt.toISOString(),
    updatedAt: item.updatedAt.toISOString(),
  };
}
