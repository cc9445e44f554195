/** Picks the providers from config: `local` (offline heuristics) unless configured otherwise. */
import type { Config } from '../../workers/config.js';
import { createLocalLlm, createOpenAiLlm, type Llm } from './llm.js';
import { createLocalEmbedder } from './local-embedder.js';
import { createOpenAiClient } from './openai-client.js';
import { createOpenAiEmbedder } from './openai-embedder.js';
import type { Embedder } from './types.js';

export function createLlm(llm: Config['llm']): Llm {
  if (llm.provider === 'local') return createLocalLlm();
  return createOpenAiLlm(
    createOpenAiClient({ baseUrl: llm.baseUrl, apiKey: llm.apiKey ?? '', model: llm.model, timeoutMs: llm.timeoutMs }),
  );
}

export function createEmbedder(llm: Config['llm']): Embedder {
  if (llm.embeddingProvider === 'local') return createLocalEmbedder(llm.embeddingDimensions);
  return createOpenAiEmbedder({
    baseUrl: llm.baseUrl,
    apiKey: llm.apiKey ?? '',
    model: llm.embeddingModel,
    dimensions: llm.embeddingDimensions,
    timeoutMs: llm.timeoutMs,
  });
}
