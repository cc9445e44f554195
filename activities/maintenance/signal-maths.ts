/**
 * The maths of signal maintenance (issue 18; Decision 22), pure: what merges, what a signal's
 * confidence is on a date, what is archived, which temperature it has. The activities apply
 * them in batches; the boundaries are tested on their own (test/unit/signal-maths.test.ts).
 */
import type { SignalTemperature } from '../db/schema/index.js';
import type { SignalMaintenanceConfig } from '../../workers/config.js';
import { inSlices, timeSlices, type TimeSlices } from '../time-slices.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export type MathsPolicy = Pick<
  SignalMaintenanceConfig,
  'mergeSimilarity' | 'halfLifeDays' | 'archiveBelow' | 'hotDays' | 'warmDays' | 'warmReferences'
>;

export interface DedupCandidate {
  id: string;
  confidence: number;
  /** Epoch ms: the tie-break after confidence (the older signal survives). */
  firstSeenAt: number;
  /** Signals not embedded yet take no part (the workflow embeds them first). */
  embedding: readonly number[] | null;
}

export interface MergeGroup {
  survivorId: string;
  mergedIds: string[];
}

/** The vector scaled to length 1 (a zero vector stays zero: similar to nothing). */
function unit(v: readonly number[], out = new Float64Array(v.length)): Float64Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  if (norm === 0) return out;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) * scale;
  return out;
}

/** Four running sums: twice as fast as one (the pairwise dedup is most of a consolidation's own work). */
function dot(a: Float64Array, b: Float64Array): number {
  const n = Math.min(a.length, b.length);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + (s2 + s3);
}

/** Cosine similarity (what `dedupGroups` compares against the threshold). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  return dot(unit(a), unit(b));
}

/** Highest confidence first; the earliest first-seen, then the id, break ties (a stable order). */
function survivorOrder(a: DedupCandidate, b: DedupCandidate): number {
  return b.confidence - a.confidence || a.firstSeenAt - b.firstSeenAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Greedy grouping: in survivor order, each signal not taken yet takes every later one not
 * taken yet whose similarity to it is above `threshold` (strictly). Pairwise, so O(n²) per
 * scope: scopes are a thread's or a case's own signals (hundreds; the bench shows 5 000).
 * Deterministic, so a retried or repeated run over what is left finds the same groups.
 *
 * Most pairs are far apart, and are ruled out on a quarter of their dimensions: the dot over
 * the head plus the most the rest can add (|tail a| · |tail b|, Cauchy–Schwarz) is below the
 * threshold. A pair not ruled out is compared whole, as before, so the groups are exactly
 * those of the full comparison (the bound keeps a margin far above rounding).
 *
 * A big scope is seconds of work (2 000 signals of 1 536 dimensions: ~1 s here), on the
 * worker's event loop: it runs in time slices (../time-slices.ts).
 */
export async function dedupGroups(signals: readonly DedupCandidate[], threshold: number, slices: TimeSlices = timeSlices()): Promise<MergeGroup[]> {
  const ordered = signals.filter((s) => s.embedding !== null && s.embedding.length > 0).sort(survivorOrder);
  const vectors = await unitVectors(ordered.map((s) => s.embedding!), slices);
  const head = headLength(vectors);
  const tails = vectors.map((v) => Math.sqrt(dotFrom(v, v, head)));
  const taken = new Uint8Array(ordered.length);
  const groups: MergeGroup[] = [];
  const groupFrom = (from: number, due: () => boolean): number => {
    for (let i = from; i < ordered.length; i++) {
      if (taken[i]) continue;
      const a = vectors[i]!;
      const mergedIds: string[] = [];
      for (let j = i + 1; j < ordered.length; j++) {
        if (taken[j]) continue;
        const b = vectors[j]!;
        if (dotUpTo(a, b, head) + tails[i]! * tails[j]! < threshold - BOUND_MARGIN) continue;
        if (dot(a, b) > threshold) {
          taken[j] = 1;
          mergedIds.push(ordered[j]!.id);
        }
      }
      if (mergedIds.length > 0) groups.push({ survivorId: ordered[i]!.id, mergedIds });
      if (due()) return i + 1;
    }
    return ordered.length;
  };
  await inSlices(ordered.length, groupFrom, slices);
  return groups;
}

/** Each vector scaled to length 1, all in one buffer (one allocation, not one per signal). */
async function unitVectors(embeddings: readonly (readonly number[])[], slices: TimeSlices): Promise<Float64Array[]> {
  const buffer = new Float64Array(embeddings.reduce((n, e) => n + e.length, 0));
  const vectors: Float64Array[] = [];
  let at = 0;
  await inSlices(embeddings.length, (from, due) => {
    for (let i = from; i < embeddings.length; i++) {
      const e = embeddings[i]!;
      vectors.push(unit(e, buffer.subarray(at, (at += e.length))));
      if (due()) return i + 1;
    }
    return embeddings.length;
  }, slices);
  return vectors;
}

/** Far above the rounding of a dot product of unit vectors (~1e-15), far below any threshold's meaning. */
const BOUND_MARGIN = 1e-9;

/** The head the bound is taken on: a quarter of the shortest vector's dimensions. */
function headLength(vectors: readonly Float64Array[]): number {
  let shortest = Number.POSITIVE_INFINITY;
  for (const v of vectors) shortest = Math.min(shortest, v.length);
  return vectors.length === 0 ? 0 : Math.floor(shortest / 4);
}

function dotUpTo(a: Float64Array, b: Float64Array, end: number): number {
  let s = 0;
  for (let k = 0; k < end; k++) s += a[k]! * b[k]!;
  return s;
}

/** From `start` to the end of `a` (its tail's squared norm when `b` is `a`). */
function dotFrom(a: Float64Array, b: Float64Array, start: number): number {
  let s = 0;
  for (let k = start; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}

/** Confidence on `nominalMs`: base × 0.5^(age / half-life), age from `lastSeenMs` (never negative). */
export function decayedConfidence(base: number, lastSeenMs: number, nominalMs: number, halfLifeDays: number): number {
  const age = Math.max(0, nominalMs - lastSeenMs);
  return base * 0.5 ** (age / (halfLifeDays * DAY_MS));
}

/** Below the threshold (not equal) a signal is archived: kept, never deleted. */
export function shouldArchive(confidence: number, archiveBelow: number): boolean {
  return confidence < archiveBelow;
}

/**
 * Whether a value to store differs from what a `real` column holds: the column keeps float4,
 * so the same computation stored twice compares equal after rounding to it.
 */
export function changesReal(stored: number, next: number): boolean {
  return Math.fround(stored) !== Math.fround(next);
}

export interface TemperatureInput {
  lastSeenAt: number;
  lastReferencedAt: number | null;
  referenceCount: number;
}

/**
 * Hot: last seen or referenced within `hotDays` of the nominal time; warm: within `warmDays`,
 * or referenced at least `warmReferences` times; else cold.
 */
export function temperatureOf(s: TemperatureInput, nominalMs: number, policy: MathsPolicy): SignalTemperature {
  const latest = Math.max(s.lastSeenAt, s.lastReferencedAt ?? Number.NEGATIVE_INFINITY);
  const age = nominalMs - latest;
  if (age <= policy.hotDays * DAY_MS) return 'hot';
  if (age <= policy.warmDays * DAY_MS || s.referenceCount >= policy.warmReferences) return 'warm';
  return 'cold';
}

export interface SurvivorFields {
  confidence: number;
  baseConfidence: number;
  firstSeenAt: number;
  lastSeenAt: number;
  lastReferencedAt: number | null;
  referenceCount: number;
}

/**
 * What a survivor keeps: the higher confidence (and base), the earliest first-seen, the latest
 * sighting and reference, and the summed reference count.
 */
export function combineSurvivor(survivor: SurvivorFields, merged: readonly SurvivorFields[]): SurvivorFields {
  const all = [survivor, ...merged];
  const refs = all.map((s) => s.lastReferencedAt).filter((t): t is number => t !== null);
  return {
    confidence: Math.max(...all.map((s) => s.confidence)),
    baseConfidence: Math.max(...all.map((s) => s.baseConfidence)),
    firstSeenAt: Math.min(...all.map((s) => s.firstSeenAt)),
    lastSeenAt: Math.max(...all.map((s) => s.lastSeenAt)),
    lastReferencedAt: refs.length > 0 ? Math.max(...refs) : null,
    referenceCount: all.reduce((sum, s) => sum + s.referenceCount, 0),
  };
}
