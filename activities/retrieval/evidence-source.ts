/**
 * A case's evidence as a retrieval source (Decision 32): every item that has not failed.
 * A pending item is searchable by its text from the moment it is stored, and by its vector
 * once ingestion embedded it; so two items ingested together find each other.
 */
import { and, asc, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { evidence } from '../db/schema/index.js';
import { rankMatches } from './full-text.js';
import { clipSnippet, headlineOf, tsQuery, uuidArray } from './snippet.js';
import type { FullTextScan, RetrievalSource, EvidencePassage, VectorRow } from './types.js';

const searchable = (caseId: string) => and(eq(evidence.caseId, caseId), ne(evidence.status, 'failed'));

async function fullText(db: Db, caseId: string, query: string, bounds: { limit: number; maxRanked: number }): Promise<FullTextScan> {
  // The GIN index (evidence_tsv_idx) serves `@@`.
  const matches = db
    .select({ id: evidence.id, tsv: evidence.tsv })
    .from(evidence)
    .where(and(searchable(caseId), sql`${evidence.tsv} @@ ${tsQuery(query)}`));
  return rankMatches('evidence', db, (bounds.maxRanked > 0 ? matches.limit(bounds.maxRanked + 1) : matches).as('m'), query, bounds);
}

/** The ids of the case's searchable evidence with vectors of these dimensions, the newest items first. */
async function vectorIds(db: Db, caseId: string, dimensions: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: evidence.id })
    .from(evidence)
    .where(and(searchable(caseId), sql`cardinality(${evidence.embedding}) = ${dimensions}`))
    .orderBy(desc(evidence.createdAt), asc(evidence.id))
    .limit(limit);
  return rows.map((r) => r.id);
}

async function vectorsOf(db: Db, caseId: string, ids: string[]): Promise<VectorRow[]> {
  if (ids.length === 0) return [];
  return db
    .select({ id: evidence.id, embedding: sql<Uint8Array>`array_send(${evidence.embedding})` })
    .from(evidence)
    // One array parameter: thousands of bound parameters cost more to parse and bind than the rows they find.
    .where(and(eq(evidence.caseId, caseId), sql`${evidence.id} = any(${uuidArray(ids)}::uuid[])`));
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

export const evidenceSource: RetrievalSource<EvidencePassage> = { kind: 'evidence', fullText, vectorIds, vectorsOf, passages };
