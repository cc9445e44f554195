/** Picks the providers from config: `local` (offline heuristics) unless configured otherwise. */
import type { Config } from '../../workers/config.js';
import type { Assistant } from './assistant.js';
import { createLlmAssistant } from './llm-assistant.js';
import { createLocalAssistant } from './local-assistant.js';
import { createLocalEmbedder } from './local-embedder.js';
import { createOpenAiClient } from './openai-client.js';
import { createOpenAiEmbedder } from './openai-embedder.js';
import type { Embedder } from './types.js';

export function createAssistant(llm: Config['llm']): Assistant {
  if (llm.provider === 'local') return createLocalAssistant();
  return createLlmAssistant(
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
