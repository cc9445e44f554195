/**
 * The `Embedder` for OpenAI and OpenAI-compatible embedding endpoints. Like the chat client,
 * it leaves retries to Temporal and translates failures where they happen.
 */
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import { outputInvalid, rethrowAsTemporalFailure } from './errors.js';
import { elapsedMs, tokenCount, type LlmCall } from './metering.js';
import { newOpenAiSdk, type OpenAiConnection } from './openai-client.js';
import type { Embedder } from './types.js';

/** Inputs per request: below every common provider's cap (OpenAI allows 2048, several
 * compatible servers 96), and small enough that one request stays well inside the timeout. */
export const EMBEDDING_BATCH_SIZE = 96;

export interface OpenAiEmbedderConfig extends OpenAiConnection {
  model: string;
  dimensions: number;
}

export function createOpenAiEmbedder(cfg: OpenAiEmbedderConfig): Embedder {
  const sdk = newOpenAiSdk(cfg);

  async function embedBatch(batch: string[], { signal, usage }: LlmCall): Promise<number[][]> {
    const startedAt = performance.now();
    let response: CreateEmbeddingResponse;
    try {
      // 'float' explicitly: without it the SDK asks for base64 and decodes it blindly, which
      // garbles the vectors of compatible servers that ignore `encoding_format`.
      response = await sdk.embeddings.create(
        { model: cfg.model, input: batch, dimensions: cfg.dimensions, encoding_format: 'float' },
        { signal },
      );
    } catch (err) {
      rethrowAsTemporalFailure(err, signal);
    }
    // Before the vectors are checked: a rejected answer was still paid for.
    usage?.record({
      purpose: 'embedding',
      provider: 'openai',
      model: cfg.model,
      promptTokens: tokenCount(response?.usage?.prompt_tokens),
      completionTokens: 0,
      latencyMs: elapsedMs(startedAt),
    });
    return vectorsOf(response, batch.length, cfg.dimensions);
  }

  return {
    provider: 'openai',
    dimensions: cfg.dimensions,
    async embed(texts, call = {}) {
      const vectors: number[][] = [];
      // One batch at a time, in order: the first failure stops the rest, and the provider's
      // rate limit sees one request per embedder at a time.
      for (let start = 0; start < texts.length; start += EMBEDDING_BATCH_SIZE) {
        vectors.push(...(await embedBatch(texts.slice(start, start + EMBEDDING_BATCH_SIZE), call)));
      }
      return vectors;
    },
  };
}

/** The vectors in input order, or a failure: a short or wrong-sized answer is never stored. */
function vectorsOf(response: CreateEmbeddingResponse, expected: number, dimensions: number): number[][] {
  const data = Array.isArray(response?.data) ? [...response.data] : [];
  if (data.length !== expected) {
    throw outputInvalid(`the embeddings API returned ${data.length} vectors for ${expected} inputs`);
  }
  data.sort((a, b) => a.index - b.index);
  return data.map(({ embedding, index }) => {
    if (!Array.isArray(embedding) || !embedding.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw outputInvalid(`embedding ${index} is not a list of finite numbers`);
    }
    if (embedding.length !== dimensions) {
      throw outputInvalid(`embedding ${index} has ${embedding.length} dimensions, expected ${dimensions}`);
    }
    return embedding;
  });
}
