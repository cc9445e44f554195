/**
 * The vector side of every source (Decision 7: no pgvector): the rows' `real[]` read as
 * binary, compared with the query in process, the best `limit` with a positive cosine kept.
 */
import { cosineSimilarity } from '../llm/local-embedder.js';
import { decodeRealArray } from './real-array.js';
import type { Candidate, PassageKind, VectorScan } from './types.js';

export interface VectorRow {
  id: string;
  /** `array_send(embedding)`: see real-array.ts. */
  embedding: Uint8Array;
}

/**
 * `rows`: at most `maxVectors + 1` rows of the query's dimensions, in the source's order (the
 * one past the bound only says it was reached). A vector holding NULLs scores nothing.
 */
export function scanVectors(kind: PassageKind, rows: VectorRow[], queryVector: number[], bounds: { limit: number; maxVectors: number }): VectorScan {
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
