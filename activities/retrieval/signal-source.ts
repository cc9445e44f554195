/**
 * A case's signals as a retrieval source (Decision 32): its active ones, a thread's that
 * joined the case (they carry the case id, Decision 22) and the case's own. Evidence linking
 * finds the signals an item bears on here. A signal not embedded yet is found by its text.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { signals } from '../db/schema/index.js';
import { rankMatches } from './full-text.js';
import { clipSnippet, headlineOf, tsQuery, uuidArray } from './snippet.js';
import type { FullTextScan, RetrievalSource, SignalPassage, VectorRow } from './types.js';

const searchable = (caseId: string) => and(eq(signals.caseId, caseId), eq(signals.status, 'active'));

async function fullText(db: Db, caseId: string, query: string, bounds: { limit: number; maxRanked: number }): Promise<FullTextScan> {
  // The GIN index (signals_tsv_idx) serves `@@`.
  const matches = db
    .select({ id: signals.id, tsv: signals.tsv })
    .from(signals)
    .where(and(searchable(caseId), sql`${signals.tsv} @@ ${tsQuery(query)}`));
  return rankMatches('signal', db, (bounds.maxRanked > 0 ? matches.limit(bounds.maxRanked + 1) : matches).as('m'), query, bounds);
}

/** The ids of the case's searchable signals with vectors of these dimensions, the signals seen last first. */
async function vectorIds(db: Db, caseId: string, dimensions: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: signals.id })
    .from(signals)
    .where(and(searchable(caseId), sql`cardinality(${signals.embedding}) = ${dimensions}`))
    .orderBy(desc(signals.lastSeenAt), asc(signals.id))
    .limit(limit);
  return rows.map((r) => r.id);
}

async function vectorsOf(db: Db, caseId: string, ids: string[]): Promise<VectorRow[]> {
  if (ids.length === 0) return [];
  return db
    .select({ id: signals.id, embedding: sql<Uint8Array>`array_send(${signals.embedding})` })
    .from(signals)
    // One array parameter: thousands of bound parameters cost more to parse and bind than the rows they find.
    .where(and(eq(signals.caseId, caseId), sql`${signals.id} = any(${uuidArray(ids)}::uuid[])`));
}

async function passages(db: Db, caseId: string, query: string, ids: string[]): Promise<Map<string, Omit<SignalPassage, 'scores'>>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: signals.id, type: signals.type, threadId: signals.threadId, text: signals.text, headline: headlineOf(signals.text, query) })
    .from(signals)
    .where(and(searchable(caseId), inArray(signals.id, ids)));
  return new Map(
    rows.map((r) => [r.id, { kind: 'signal', signalId: r.id, signalType: r.type, threadId: r.threadId, text: r.text, snippet: clipSnippet(r.text, r.headline) }]),
  );
}

export const signalSource: RetrievalSource<SignalPassage> = { kind: 'signal', fullText, vectorIds, vectorsOf, passages };
