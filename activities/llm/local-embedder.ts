/**
 * The offline `local` embedder: feature hashing of words and word pairs into a fixed
 * number of dimensions, L2-normalised. Deterministic; similar wording → similar vectors.
 * It is not a semantic model.
 */
import { reportLocalUsage } from './metering.js';
import type { Embedder } from './types.js';

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function hashEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const features = [...words, ...words.slice(1).map((w, i) => `${words[i]} ${w}`)];
  for (const feature of features) {
    const h = fnv1a(feature);
    const index = h % dimensions;
    vector[index] = (vector[index] ?? 0) + ((h & 0x80000000) === 0 ? 1 : -1);
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

export function createLocalEmbedder(dimensions: number): Embedder {
  return {
    provider: 'local',
    dimensions,
    async embed(texts, call) {
      const startedAt = performance.now();
      const vectors = texts.map((t) => hashEmbedding(t, dimensions));
      // A model is charged for what it reads; vectors are not tokens.
      const input = texts.join('\n');
      reportLocalUsage(call, { purpose: 'embedding', model: `local-hashing-${dimensions}`, input, output: '', startedAt });
      return vectors;
    },
  };
}

export function cosineSimilarity(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
