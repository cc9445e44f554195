/** Reciprocal rank fusion and the binary `real[]` decoder: pure functions, no database. */
import { describe, expect, it } from 'vitest';
import { rankCandidates, reciprocalRankFusion, RRF_K } from '../../activities/retrieval/fusion.js';
import { decodeRealArray } from '../../activities/retrieval/real-array.js';
import type { Candidate } from '../../activities/retrieval/types.js';

const c = (id: string, score: number): Candidate => ({ kind: 'chunk', id, score });

describe('reciprocalRankFusion', () => {
  it('sums 1 / (60 + rank) over the lists that hold a candidate', () => {
    const fused = reciprocalRankFusion({ fullText: [c('a', 0.9), c('b', 0.5)], vector: [c('b', 0.8), c('c', 0.7)] });
    expect(RRF_K).toBe(60);
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'c']);
    expect(fused[0]!.scores).toEqual({ fused: 1 / 62 + 1 / 61, fullText: 0.5, cosine: 0.8, fullTextRank: 2, vectorRank: 1 });
    expect(fused[1]!.scores).toEqual({ fused: 1 / 61, fullText: 0.9, cosine: null, fullTextRank: 1, vectorRank: null });
  });

  it('puts the full-text match first when fused scores tie, and orders equal scores of one list by id', () => {
    // p (full-text rank 1) and q (vector rank 1) tie exactly at 1/61.
    expect(reciprocalRankFusion({ fullText: [c('p', 1)], vector: [c('q', 1)] }).map((f) => f.id)).toEqual(['p', 'q']);
    expect(rankCandidates([c('b', 0.5), c('a', 0.5), c('c', 0.9)], 10).map((x) => x.id)).toEqual(['c', 'a', 'b']);
    expect(rankCandidates([c('b', 0.5), c('a', 0.5), c('c', 0.9)], 2).map((x) => x.id)).toEqual(['c', 'a']);
  });

  it('is the same whatever order the candidates of one score arrive in', () => {
    const scores = [c('d', 0.3), c('b', 0.3), c('a', 0.7), c('c', 0.3)];
    const once = reciprocalRankFusion({ fullText: rankCandidates(scores, 3), vector: rankCandidates([...scores].reverse(), 3) });
    const again = reciprocalRankFusion({ fullText: rankCandidates([...scores].reverse(), 3), vector: rankCandidates(scores, 3) });
    expect(once).toEqual(again);
    expect(once.map((f) => f.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('decodeRealArray', () => {
  /** What `array_send` makes of a one-dimensional float4 array. */
  function sent(values: (number | null)[]): Buffer {
    const parts = [Buffer.alloc(20)];
    parts[0]!.writeInt32BE(1, 0);
    parts[0]!.writeInt32BE(values.includes(null) ? 1 : 0, 4);
    parts[0]!.writeInt32BE(700, 8);
    parts[0]!.writeInt32BE(values.length, 12);
    parts[0]!.writeInt32BE(1, 16);
    for (const v of values) {
      const element = Buffer.alloc(v === null ? 4 : 8);
      element.writeInt32BE(v === null ? -1 : 4, 0);
      if (v !== null) element.writeFloatBE(v, 4);
      parts.push(element);
    }
    return Buffer.concat(parts);
  }

  it('reads the floats back exactly', () => {
    const values = [0.5, -0.25, Math.fround(0.1), 3];
    expect(decodeRealArray(sent(values))).toEqual(values);
  });

  it('refuses NULL elements and malformed input', () => {
    expect(decodeRealArray(sent([0.5, null]))).toBeUndefined();
    expect(decodeRealArray(sent([0.5]).subarray(0, 26))).toBeUndefined();
    expect(decodeRealArray(Buffer.alloc(4))).toBeUndefined();
  });
});
