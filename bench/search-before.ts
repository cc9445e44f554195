/**
 * The search scenario's baseline: retrieval's vector side as it was before the vector cache
 * (commit 1a5f7ab), kept verbatim in behaviour: every search reads the case's vectors of
 * each kind from the database (`array_send`, at most `maxVectors`, newest first), decodes
 * them and compares them one by one. `retrieveBefore` is today's `retrieve` with that vector
 * side, so the two are timed over the same full-text, fusion and hydration.
 */
import { and, asc, desc, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { chunks, documents, evidence, signals } from '../activities/db/schema/index.js';
import { cosineSimilarity } from '../activities/llm/local-embedder.js';
import { decodeRealArray } from '../activities/retrieval/real-array.js';
import type { Candidate, PassageKind } from '../activities/retrieval/types.js';

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
