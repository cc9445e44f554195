/**
 * Documents' chunks as a retrieval source. Only chunks of the case's `completed`
 * documents are searched: a document being processed again keeps its old chunks until
 * indexing replaces them, and search does not show them meanwhile.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { chunks, documents } from '../db/schema/index.js';
import { clipSnippet, headlineOf, tsQuery } from './snippet.js';
import type { Candidate, ChunkPassage, RetrievalSource, VectorScan } from './types.js';
import { scanVectors } from './vector-scan.js';

export { clipSnippet, SNIPPET_MAX_CHARS } from './snippet.js';

/** The case's searchable chunks: those of its completed documents. */
const searchable = (caseId: string) => and(eq(chunks.caseId, caseId), eq(documents.processingStatus, 'completed'));

async function fullText(db: Db, caseId: string, query: string, limit: number): Promise<Candidate[]> {
  // Normalisation 32 (rank / (rank + 1)) keeps the order of the raw rank and reads as 0..1.
  const score = sql<number>`ts_rank_cd(${chunks.tsv}, ${tsQuery(query)}, 32)`;
  const rows = await db
    .select({ id: chunks.id, score })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    // The GIN index (chunks_tsv_idx) serves `@@`; a query of only stop words matches nothing.
    .where(and(searchable(caseId), sql`${chunks.tsv} @@ ${tsQuery(query)}`))
    .orderBy(desc(score), asc(chunks.id))
    .limit(limit);
  return rows.map((r) => ({ kind: 'chunk', id: r.id, score: Number(r.score) }));
}

/**
 * Reads at most `maxVectors` vectors of the query's dimensions (the newest documents'
 * first), compares each with the query in process (Decision 7: no pgvector), and keeps
 * the best `limit` with a positive cosine (zero: nothing in common). Vectors of other
 * dimensions (made before the embedder changed) or holding NULLs are skipped until their
 * document is processed again; full-text still finds those chunks.
 */
async function vector(db: Db, caseId: string, queryVector: number[], bounds: { limit: number; maxVectors: number }): Promise<VectorScan> {
  const dimensions = queryVector.length;
  // Ids first, so the sort carries no vectors; then the vectors of those rows only (the
  // outer order comes free from the nested loop over `picked`).
  const picked = db
    .select({ id: chunks.id, createdAt: documents.createdAt })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    .where(and(searchable(caseId), sql`cardinality(${chunks.embedding}) = ${dimensions}`))
    .orderBy(desc(documents.createdAt), asc(chunks.id))
    .limit(bounds.maxVectors + 1)
    .as('picked');
  const rows = await db
    .select({ id: chunks.id, embedding: sql<Uint8Array>`array_send(${chunks.embedding})` })
    .from(picked)
    .innerJoin(chunks, eq(chunks.id, picked.id))
    .orderBy(desc(picked.createdAt), asc(picked.id));
  return scanVectors('chunk', rows, queryVector, bounds);
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

export const chunkSource: RetrievalSource<ChunkPassage> = { kind: 'chunk', fullText, vector, passages };
