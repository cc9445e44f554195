/**
 * Documents' chunks as a retrieval source. Only chunks of the case's `completed`
 * documents are searched: a document being processed again keeps its old chunks until
 * indexing replaces them, and search does not show them meanwhile.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { chunks, documents } from '../db/schema/index.js';
import { cosineSimilarity } from '../llm/local-embedder.js';
import { decodeRealArray } from './real-array.js';
import type { Candidate, ChunkPassage, RetrievalSource, VectorScan } from './types.js';

/** `ts_headline` words around the best match, centred on it: about 300 characters of English. */
const HEADLINE_OPTIONS = 'StartSel="",StopSel="",MaxWords=50,MinWords=25,MaxFragments=1';
/** A hard cap on the snippet: a "word" can be a 2 KB URL. */
export const SNIPPET_MAX_CHARS = 400;

const tsQuery = (query: string) => sql`websearch_to_tsquery('english', ${query})`;

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
  const limitReached = rows.length > bounds.maxVectors;
  const read = rows.slice(0, bounds.maxVectors);
  const scored: Candidate[] = [];
  for (const row of read) {
    const embedding = decodeRealArray(row.embedding);
    const cosine = embedding ? cosineSimilarity(queryVector, embedding) : 0;
    if (cosine > 0) scored.push({ kind: 'chunk', id: row.id, score: cosine });
  }
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return { candidates: scored.slice(0, bounds.limit), read: read.length, limitReached };
}

/** `…` where the snippet starts after the chunk's start or ends before its end. */
export function clipSnippet(text: string, headline: string): string {
  const cut = headline.length > SNIPPET_MAX_CHARS ? `${headline.slice(0, SNIPPET_MAX_CHARS).trimEnd()}…` : headline;
  const at = text.indexOf(headline);
  if (at < 0) return cut;
  const before = at > 0 ? '…' : '';
  const after = cut === headline && at + headline.length < text.trimEnd().length ? '…' : '';
  return `${before}${cut}${after}`;
}

async function passages(db: Db, caseId: string, query: string, ids: string[]): Promise<Map<string, Omit<ChunkPassage, 'scores'>>> {
  if (ids.length === 0) return new Map();
  // A short chunk is its own snippet (a fragment would drop its edge words). With no lexeme
  // to match (a vector-only hit, a query of stop words) the headline is the chunk's start.
  const headline = sql<string>`case when char_length(${chunks.text}) <= ${SNIPPET_MAX_CHARS} then ${chunks.text}
    else ts_headline('english', ${chunks.text}, ${tsQuery(query)}, ${HEADLINE_OPTIONS}) end`;
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
