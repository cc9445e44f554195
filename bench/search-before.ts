/**
 * The search scenario's baseline: retrieval's vector side as it was before the vector cache
 * (commit 1a5f7ab), kept verbatim in behaviour: every search reads the case's vectors of
 * each kind from the database (`array_send`, at most `maxVectors`, newest first), decodes
 * them and compares them one by one. `retrieveBefore` is today's `retrieve` with that vector
 * side, so the two are timed over the same full-text, fusion and hydration.
 */
import { and, asc, desc, eq, ne, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { chunks, documents, evidence, signals } from '../activities/db/schema/index.js';
import { cosineSimilarity } from '../activities/llm/local-embedder.js';
import { decodeRealArray } from '../activities/retrieval/real-array.js';
import { chunkSource } from '../activities/retrieval/chunk-source.js';
import { evidenceSource } from '../activities/retrieval/evidence-source.js';
import { rankCandidates, reciprocalRankFusion, RRF_K } from '../activities/retrieval/fusion.js';
import { signalSource } from '../activities/retrieval/signal-source.js';
import type { Candidate, PassageKind } from '../activities/retrieval/types.js';

/** Today's defaults before the cache: 10 000 vectors per case and kind, 16 MiB. */
export const BEFORE_BOUNDS = { limit: 100, maxVectors: 10_000 };

interface Scan {
  candidates: Candidate[];
  read: number;
  limitReached: boolean;
}

function scanVectors(kind: PassageKind, rows: { id: string; embedding: Uint8Array }[], queryVector: number[], bounds: { limit: number; maxVectors: number }): Scan {
  const limitReached = rows.length > bounds.maxVectors;
  const read = rows.slice(0, bounds.maxVectors);
  const scored: Candidate[] = [];
  for (const row of read) {
    const embedding = decodeRealArray(row.embedding);
    const cosine = embedding ? cosineSimilarity(queryVector, embedding) : 0;
    if (cosine > 0) scored.push({ kind, id: row.id, score: cosine });
  }
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return { candidates: scored.slice(0, bounds.limit), read: read.length, limitReached };
}

type Bounds = { limit: number; maxVectors: number };

async function chunkVectors(db: Db, caseId: string, queryVector: number[], bounds: Bounds): Promise<Scan> {
  const picked = db
    .select({ id: chunks.id, createdAt: documents.createdAt })
    .from(chunks)
    .innerJoin(documents, eq(documents.id, chunks.documentId))
    .where(and(eq(chunks.caseId, caseId), eq(documents.processingStatus, 'completed'), sql`cardinality(${chunks.embedding}) = ${queryVector.length}`))
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

async function evidenceVectors(db: Db, caseId: string, queryVector: number[], bounds: Bounds): Promise<Scan> {
  const picked = db
    .select({ id: evidence.id, createdAt: evidence.createdAt })
    .from(evidence)
    .where(and(eq(evidence.caseId, caseId), ne(evidence.status, 'failed'), sql`cardinality(${evidence.embedding}) = ${queryVector.length}`))
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

async function signalVectors(db: Db, caseId: string, queryVector: number[], bounds: Bounds): Promise<Scan> {
  const picked = db
    .select({ id: signals.id, seenAt: signals.lastSeenAt })
    .from(signals)
    .where(and(eq(signals.caseId, caseId), eq(signals.status, 'active'), sql`cardinality(${signals.embedding}) = ${queryVector.length}`))
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

/** The old vector side over every kind: the best `limit` of all kinds, and what was read. */
export async function vectorSideBefore(db: Db, caseId: string, queryVector: number[], bounds: Bounds): Promise<Scan> {
  const scans = await Promise.all([chunkVectors, evidenceVectors, signalVectors].map((f) => f(db, caseId, queryVector, bounds)));
  const all = scans.flatMap((s) => s.candidates).sort((a, b) => b.score - a.score || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.id < b.id ? -1 : 1));
  return { candidates: all.slice(0, bounds.limit), read: scans.reduce((n, s) => n + s.read, 0), limitReached: scans.some((s) => s.limitReached) };
}

const tsQuery = (query: string) => sql`websearch_to_tsquery('english', ${query})`;

/** The full-text side before the cap: every match ranked. */
async function fullTextBefore(db: Db, kind: PassageKind, caseId: string, query: string): Promise<Candidate[]> {
  const t = { chunk: chunks, evidence, signal: signals }[kind];
  const where: SQL | undefined =
    kind === 'chunk'
      ? and(eq(chunks.caseId, caseId), eq(documents.processingStatus, 'completed'))
      : kind === 'evidence'
        ? and(eq(evidence.caseId, caseId), ne(evidence.status, 'failed'))
        : and(eq(signals.caseId, caseId), eq(signals.status, 'active'));
  const tsv = t.tsv as AnyColumn;
  const score = sql<number>`ts_rank_cd(${tsv}, ${tsQuery(query)}, 32)`;
  const base = db.select({ id: t.id, score }).from(t);
  const joined = kind === 'chunk' ? base.innerJoin(documents, eq(documents.id, chunks.documentId)) : base;
  const rows = await joined.where(and(where, sql`${tsv} @@ ${tsQuery(query)}`)).orderBy(desc(score), asc(t.id)).limit(100);
  return rows.map((r) => ({ kind, id: r.id, score: Number(r.score) }));
}

const SOURCES = { chunk: chunkSource, evidence: evidenceSource, signal: signalSource };

/** `retrieve` as it was: both sides side by side (the old vector side, every full-text match ranked), fused, hydrated. */
export async function retrieveBefore(db: Db, caseId: string, query: string, queryVector: number[], k: number): Promise<number> {
  const kinds: PassageKind[] = ['chunk', 'evidence', 'signal'];
  const [fullTexts, vectors] = await Promise.all([
    Promise.all(kinds.map((kind) => fullTextBefore(db, kind, caseId, query))),
    vectorSideBefore(db, caseId, queryVector, BEFORE_BOUNDS),
  ]);
  const top = reciprocalRankFusion({ fullText: rankCandidates(fullTexts.flat(), 100), vector: vectors.candidates }, RRF_K).slice(0, k);
  const found = await Promise.all(kinds.map((kind) => SOURCES[kind].passages(db, caseId, query, top.filter((c) => c.kind === kind).map((c) => c.id))));
  return found.reduce((n, m) => n + m.size, 0);
}
