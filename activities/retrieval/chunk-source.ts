/**
 * Documents' chunks as a retrieval source. Only chunks of the case's `completed`
 * documents are searched: a document being processed again keeps its old chunks until
 * indexing replaces them, and search does not show them meanwhile.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { chunks, documents } from '../db/schema/index.js';
import { rankMatches } from './full-text.js';
import { clipSnippet, headlineOf, tsQuery, uuidArray } from './snippet.js';
import type { ChunkPassage, FullTextScan, RetrievalSource, VectorRow } from './types.js';

export { clipSnippet, SNIPPET_MAX_CHARS } from './snippet.js';

/** The case's searchable chunks: those of its completed documents. */
const searchable = (caseId: string) => and(eq(chunks.caseId, caseId), eq(documents.processingStatus, 'completed'));

async function fullText(db: Db, caseId: string, query: string, bounds: { limit: number; maxRanked: number }): Promise<FullTextScan> {
  // The GIN index (chunks_tsv_idx) serves `@@`; a query of only stop words matches nothing.
  const matches = db
    .select({ id: chunks.id, tsv: chunks.tsv })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    .where(and(searchable(caseId), sql`${chunks.tsv} @@ ${tsQuery(query)}`));
  return rankMatches('chunk', db, (bounds.maxRanked > 0 ? matches.limit(bounds.maxRanked + 1) : matches).as('m'), query, bounds);
}

/** The ids of the case's searchable chunks with vectors of these dimensions, the newest documents' first. */
async function vectorIds(db: Db, caseId: string, dimensions: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: chunks.id })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    .where(and(searchable(caseId), sql`cardinality(${chunks.embedding}) = ${dimensions}`))
    .orderBy(desc(documents.createdAt), asc(chunks.id))
    .limit(limit);
  return rows.map((r) => r.id);
}

async function vectorsOf(db: Db, caseId: string, ids: string[]): Promise<VectorRow[]> {
  if (ids.length === 0) return [];
  return db
    .select({ id: chunks.id, embedding: sql<Uint8Array>`array_send(${chunks.embedding})` })
    .from(chunks)
    // One array parameter: thousands of bound parameters cost more to parse and bind than the rows they find.
    .where(and(eq(chunks.caseId, caseId), sql`${chunks.id} = any(${uuidArray(ids)}::uuid[])`));
}

async function passages(db: Db, caseId: string, query: string, ids: string[]): Promise<Map<string, Omit<ChunkPassage, 'scores'>>> {
  if (ids.length === 0) return new Map();
  const headline = headlineOf(chunks.text, query);
  const rows = await db
    .select({ id: chunks.id, documentId: chunks.documentId, ordinal: chunks.ordinal, text: chunks.text, title: documents.title, headline })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    .where(and(searchable(caseId), inArray(chunks.id, ids)));
  return new Map(
    rows.map((r) => [
      r.id,
      { kind: 'chunk', chunkId: r.id, documentId: r.documentId, documentTitle: r.title, ordinal: r.ordinal, snippet: clipSnippet(r.text, r.headline), text: r.text },
    ]),
  );
}

export const chunkSource: RetrievalSource<ChunkPassage> = { kind: 'chunk', fullText, vectorIds, vectorsOf, passages };
