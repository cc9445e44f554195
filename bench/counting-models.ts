/**
 * The local models, wrapped to count calls: "LLM calls per chat turn" for free. Every member
 * of `Llm` that is a function is counted under its name, so a new purpose is counted too.
 */
import type { Llm } from '../activities/llm/llm.js';
import type { Embedder } from '../activities/llm/types.js';

/** Calls per `Llm` purpose, plus `embed` (the embedder's, not an LLM's). */
export type ModelCalls = Record<string, number>;

export interface CountingModels {
  llm: Llm;
  embedder: Embedder;
  calls(): ModelCalls;
}

export function countingModels(llm: Llm, embedder: Embedder): CountingModels {
  const calls: ModelCalls = {};
  const counted = <F extends (...args: never[]) => unknown>(name: string, fn: F): F => {
    calls[name] = 0;
    return ((...args: Parameters<F>) => {
      calls[name]!++;
      return fn(...args);
    }) as F;
  };
  const members = Object.entries(llm).map(([name, member]) => [name, typeof member === 'function' ? counted(name, member) : member]);
  return {
    llm: Object.fromEntries(members) as Llm,
    embedder: { provider: embedder.provider, dimensions: embedder.dimensions, embed: counted('embed', embedder.embed.bind(embedder)) },
    calls: () => ({ ...calls }),
  };
}
