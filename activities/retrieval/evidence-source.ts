/**
 * A case's evidence as a retrieval source (Decision 32): every item that has not failed.
 * A pending item is searchable by its text from the moment it is stored, and by its vector
 * once ingestion embedded it; so two items ingested together find each other.
 */
import { and, asc, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { evidence } from '../db/schema/index.js';
import { clipSnippet, headlineOf, tsQuery } from './snippet.js';
import type { Candidate, EvidencePassage, RetrievalSource, VectorScan } from './types.js';
import { scanVectors } from './vector-scan.js';

const searchable = (caseId: string) => and(eq(evidence.caseId, caseId), ne(evidence.status, 'failed'));

async function fullText(db: Db, caseId: string, query: string, limit: number): Promise<Candidate[]> {
  const score = sql<number>`ts_rank_cd(${evidence.tsv}, ${tsQuery(query)}, 32)`;
  const rows = await db
    .select({ id: evidence.id, score })
    .from(evidence)
    // The GIN index (evidence_tsv_idx) serves `@@`.
    .where(and(searchable(caseId), sql`${evidence.tsv} @@ ${tsQuery(query)}`))
    .orderBy(desc(score), asc(evidence.id))
    .limit(limit);
  return rows.map((r) => ({ kind: 'evidence', id: r.id, score: Number(r.score) }));
}

/** At most `maxVectors` vectors of the query's dimensions, the newest items' first (ids first: the sort carries no vectors). */
async function vector(db: Db, caseId: string, queryVector: number[], bounds: { limit: number; maxVectors: number }): Promise<VectorScan> {
  const picked = db
    .select({ id: evidence.id, createdAt: evidence.createdAt })
    .from(evidence)
    .where(and(searchable(caseId), sql`cardinality(${evidence.embedding}) = ${queryVector.length}`))
    .orderBy(desc(evidence.createdAt), asc(evidence.id))
    .limit(bounds.maxVectors + 1)
    .as('picked');
  const rows = await db
    .select({ id: evidence.id, embedding: sql<Uint8Array>`array_send(${evidence.embedding})` })
    .from(picked)
    .innerJoin(evidence, eq(evidence.id, picked.id))
    .orderBy(desc(picked.createdAt), asc(picked.id));
  return scanVectors('evidence', rows, queryVector, bounds);
}

async function passages(db: Db, caseId: string, query: string, ids: string[]): Promise<Map<string, Omit<EvidencePassage, 'scores'>>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({
      id: evidence.id,
      text: evidence.text,
      source: evidence.source,
      sourceUrl: evidence.sourceUrl,
      sourceTitle: evidence.sourceTitle,
      documentId: evidence.documentId,
      headline: headlineOf(evidence.text, query),
    })
    .from(evidence)
    .where(and(searchable(caseId), inArray(evidence.id, ids)));
  return new Map(
    rows.map(({ id, headline, ...r }) => [id, { kind: 'evidence', evidenceId: id, ...r, snippet: clipSnippet(r.text, headline) }]),
  );
}

export const evidenceSource: RetrievalSource<EvidencePassage> = { kind: 'evidence', fullText, vector, passages };
