/**
 * A case's signals as a retrieval source (Decision 32): its active ones, a thread's that
 * joined the case (they carry the case id, Decision 22) and the case's own. Evidence linking
 * finds the signals an item bears on here. A signal not embedded yet is found by its text.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { signals } from '../db/schema/index.js';
import { clipSnippet, headlineOf, tsQuery } from './snippet.js';
import type { Candidate, RetrievalSource, SignalPassage, VectorScan } from './types.js';
import { scanVectors } from './vector-scan.js';

const searchable = (caseId: string) => and(eq(signals.caseId, caseId), eq(signals.status, 'active'));

async function fullText(db: Db, caseId: string, query: string, limit: number): Promise<Candidate[]> {
  const score = sql<number>`ts_rank_cd(${signals.tsv}, ${tsQuery(query)}, 32)`;
  const rows = await db
    .select({ id: signals.id, score })
    .from(signals)
    // The GIN index (signals_tsv_idx) serves `@@`.
    .where(and(searchable(caseId), sql`${signals.tsv} @@ ${tsQuery(query)}`))
    .orderBy(desc(score), asc(signals.id))
    .limit(limit);
  return rows.map((r) => ({ kind: 'signal', id: r.id, score: Number(r.score) }));
}

/** At most `maxVectors` vectors of the query's dimensions, the most recently seen signals' first. */
async function vector(db: Db, caseId: string, queryVector: number[], bounds: { limit: number; maxVectors: number }): Promise<VectorScan> {
  const picked = db
    .select({ id: signals.id, seenAt: signals.lastSeenAt })
    .from(signals)
    .where(and(searchable(caseId), sql`cardinality(${signals.embedding}) = ${queryVector.length}`))
    .orderBy(desc(signals.lastSeenAt), asc(signals.id))
    .limit(bounds.maxVectors + 1)
    .as('picked');
  const rows = await db
    .select({ id: signals.id, embedding: sql<Uint8Array>`array_send(${signals.embedding})` })
    .from(picked)
    .innerJoin(signals, eq(signals.id, picked.id))
    .orderBy(desc(picked.seenAt), asc(picked.id));
  return scanVectors('signal', rows, queryVector, bounds);
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

export const signalSource: RetrievalSource<SignalPassage> = { kind: 'signal', fullText, vector, passages };
