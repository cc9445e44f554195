import { describe, expect, it } from 'vitest';
import { scanVectors, type VectorSet } from '../../activities/retrieval/vector-scan.js';
import { timeSlices } from '../../activities/time-slices.js';
import { countLoopTurns, seededRandom } from '../helpers/cpu-passes.js';

function randomSet(rows: number, dimensions: number): VectorSet {
  const random = seededRandom(5);
  const data = Float32Array.from({ length: rows * dimensions }, random);
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dimensions; j++) norms[i]! += data[i * dimensions + j]! ** 2;
  return { dimensions, ids: Array.from({ length: rows }, (_, i) => `row-${String(i).padStart(5, '0')}`), data, norms };
}

/** Every row's cosine, sorted: what the scan's heap must agree with. */
function naiveBest(set: VectorSet, query: number[], limit: number) {
  const qq = query.reduce((n, x) => n + x * x, 0);
  return set.ids
    .map((id, i) => {
      let dot = 0;
      for (let j = 0; j < set.dimensions; j++) dot += query[j]! * set.data[i * set.dimensions + j]!;
      return { kind: 'chunk' as const, id, score: dot / Math.sqrt(qq * set.norms[i]!) };
    })
    .filter((c) => c.score > 0)
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, limit);
}

describe('the vector scan', () => {
  it('gives the event loop turns while it compares, and finds exactly the best rows of comparing them all', async () => {
    const set = randomSet(4_000, 32);
    const query = Array.from({ length: 32 }, seededRandom(9));
    const turns = countLoopTurns();
    // Slices of no time: a turn at every look at the clock (every 256 rows).
    const found = await scanVectors('chunk', set, query, 100, timeSlices(0));
    expect(turns.stop()).toBeGreaterThanOrEqual(Math.floor(4_000 / 256));
    expect(found).toEqual(naiveBest(set, query, 100));
    expect(await scanVectors('chunk', set, query, 100)).toEqual(found);
  });
});
