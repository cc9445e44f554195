/**
 * The vector side's arithmetic (Decision 7: no pgvector): a kind's vectors as one contiguous
 * Float32Array, filled from `array_send(embedding)`, and an exact cosine of every row against
 * the query, keeping the best `limit` with a positive cosine. The sums run in double
 * precision in the same order as `cosineSimilarity` (the query's norm, each row's squared
 * norm kept beside it), so a score is the very number the per-row path gave.
 */
import { inSlices, timeSlices, type TimeSlices } from '../time-slices.js';
import type { Candidate, PassageKind } from './types.js';

/** float4 */
export const BYTES_PER_DIMENSION = 4;
/** What an id costs in memory beside its vector (a JS string of 36 characters and its slot in a Map). */
export const BYTES_PER_ID = 96;

/** A kind's vectors of one dimension count: row i is `data[i*dimensions ...]`, `ids[i]`, its squared norm `norms[i]` (0: unusable). */
export interface VectorSet {
  dimensions: number;
  ids: string[];
  data: Float32Array;
  norms: Float64Array;
}

export const vectorSetBytes = (rows: number, dimensions: number) => rows * (dimensions * BYTES_PER_DIMENSION + 8 + BYTES_PER_ID);

const FLOAT4_OID = 700;

/**
 * Decodes PostgreSQL's binary array (`array_send`: int32 ndim, int32 has-nulls, oid element
 * type, per dimension int32 length and lower bound, then per element int32 byte length (-1:
 * NULL) and the float4, big-endian; see real-array.ts) into `out` at `offset`. Returns the
 * squared norm, or 0 when it is not a one-dimensional float4 array of `dimensions` without
 * NULLs (such a row then scores nothing, as before).
 */
export function decodeInto(bytes: Uint8Array, out: Float32Array, offset: number, dimensions: number): number {
  if (bytes.byteLength !== 20 + dimensions * 8) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getInt32(0) !== 1 || view.getInt32(8) !== FLOAT4_OID || view.getInt32(12) !== dimensions) return 0;
  let norm = 0;
  for (let i = 0, at = 20; i < dimensions; i++, at += 8) {
    if (view.getInt32(at) !== 4) {
      out.fill(0, offset, offset + dimensions);
      return 0;
    }
    const y = view.getFloat32(at + 4);
    out[offset + i] = y;
    norm += y * y;
  }
  return norm;
}

/** Is (score a, id a) better than (score b, id b)? Higher cosine, then the smaller id: the order the results are sorted in. */
const better = (sa: number, ia: string, sb: number, ib: string) => sa > sb || (sa === sb && ia < ib);

/** Rows compared between two looks at the clock (a look costs about what a short vector's dot does). */
const ROWS_PER_CLOCK_READ = 256;

/**
 * The best `limit` rows by exact cosine (> 0), best first, ties by id. A kind of the cache's
 * bound (131 072 rows of 256 dimensions) is tens of milliseconds of arithmetic on the event
 * loop the gateway's requests share: it runs in time slices (../time-slices.ts).
 */
export async function scanVectors(kind: PassageKind, set: VectorSet, queryVector: readonly number[], limit: number, slices: TimeSlices = timeSlices()): Promise<Candidate[]> {
  const d = set.dimensions;
  if (limit <= 0 || queryVector.length !== d) return [];
  const q = Float64Array.from(queryVector);
  let na = 0;
  for (let j = 0; j < d; j++) na += q[j]! * q[j]!;
  if (na === 0) return [];
  const { data, norms, ids } = set;
  // A min-heap of the best so far (the worst at the root), as row indexes and their scores.
  const heap: number[] = [];
  const scores: number[] = [];
  const worse = (a: number, b: number) => better(scores[b]!, ids[heap[b]!]!, scores[a]!, ids[heap[a]!]!);
  const swap = (a: number, b: number) => {
    [heap[a], heap[b]] = [heap[b]!, heap[a]!];
    [scores[a], scores[b]] = [scores[b]!, scores[a]!];
  };
  const siftDown = (at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let worst = at;
      if (l < heap.length && worse(l, worst)) worst = l;
      if (r < heap.length && worse(r, worst)) worst = r;
      if (worst === at) return;
      swap(at, worst);
      at = worst;
    }
  };
  const scanFrom = (from: number, due: () => boolean): number => {
    // Locals, not the closure's: read in the inner loop, they made the scan 60 % slower.
    const query = q;
    const rows = data;
    const dimensions = d;
    for (let i = from; i < ids.length; i++) {
      if (i % ROWS_PER_CLOCK_READ === 0 && i > from && due()) return i;
      const nb = norms[i]!;
      if (nb === 0) continue;
      const base = i * dimensions;
      let dot = 0;
      for (let j = 0; j < dimensions; j++) dot += query[j]! * rows[base + j]!;
      const cosine = dot / Math.sqrt(na * nb);
      if (!(cosine > 0)) continue;
      if (heap.length < limit) {
        heap.push(i);
        scores.push(cosine);
        for (let at = heap.length - 1; at > 0; ) {
          const parent = (at - 1) >> 1;
          if (!worse(at, parent)) break;
          swap(at, parent);
          at = parent;
        }
      } else if (better(cosine, ids[i]!, scores[0]!, ids[heap[0]!]!)) {
        heap[0] = i;
        scores[0] = cosine;
        siftDown(0);
      }
    }
    return ids.length;
  };
  await inSlices(ids.length, scanFrom, slices);
  return heap
    .map((row, at) => ({ kind, id: ids[row]!, score: scores[at]! }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
