/** The document resource as the gateway shows it: the schema is also the allow-list of fields sent. */
import type { DocumentSummary } from '../../activities/documents/store.js';
import { uuid } from './chat-schemas.js';

const timestamp = { type: 'string', format: 'date-time' } as const;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

export const documentSchema = {
  type: 'object',
  properties: {
    id: uuid,
    caseId: uuid,
    title: { type: 'string' },
    source: { type: 'string', enum: ['upload', 'url', 'inquiry'] },
    url: nullable({ type: 'string' }),
    canonicalUrl: nullable({ type: 'string' }),
    fetchedAt: nullable(timestamp),
    contentType: { type: 'string' },
    contentHash: { type: 'string', description: 'sha256 (hex) of the content as uploaded (a PDF: its bytes)' },
    processingStatus: { type: 'string', enum: ['pending', 'processing', 'completed', 'failed'] },
    error: nullable({ type: 'string' }),
    chunkCount: { type: 'integer' },
    pageCount: nullable({ type: 'integer' }),
    charCount: nullable({ type: 'integer' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  required: ['id', 'caseId', 'title', 'source', 'contentType', 'contentHash', 'processingStatus', 'error', 'chunkCount', 'createdAt', 'updatedAt'],
} as const;

export function documentJson(doc: DocumentSummary) {
  return {
    id: doc.id,
    caseId: doc.caseId,
    title: doc.title,
    source: doc.source,
    url: doc.url,
    canonicalUrl: doc.canonicalUrl,
    fetchedAt: doc.fetchedAt ? doc.fetchedAt.toISOString() : null,
    contentType: doc.contentType,
    contentHash: doc.contentHash,
    processingStatus: doc.processingStatus,
    error: doc.error,
    chunkCount: doc.chunkCount,
    pageCount: doc.pageCount,
    charCount: doc.charCount,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}
