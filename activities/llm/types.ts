import type { z } from 'zod';

export interface ChatTurn {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

export interface CompletionRequest {
  system: string;
  messages: ChatTurn[];
  maxTokens?: number;
  temperature?: number;
  /** Aborts the HTTP call (activity cancellation). */
  signal?: AbortSignal;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * A text model behind an OpenAI-compatible API. Implementations translate failures into
 * Temporal's terms where they happen: transient (connection, timeout, 408/409/429/5xx)
 * → a retryable `ApplicationFailure` of type `LlmTransient` (with `nextRetryDelay` from
 * `Retry-After`); anything else → non-retryable (`LlmBadRequest`, `LlmAuthError`,
 * `LlmOutputInvalid`).
 */
export interface LlmClient {
  readonly model: string;
  complete(request: CompletionRequest): Promise<{ text: string; usage: TokenUsage }>;
  /** Structured output: the model's JSON, validated against `schema`. */
  completeJson<T>(
    request: CompletionRequest & { schema: z.ZodType<T>; schemaName: string },
  ): Promise<{ value: T; usage: TokenUsage }>;
}

export interface Embedder {
  /** `local` (a deterministic hashing embedder) or `openai`. */
  readonly provider: 'local' | 'openai';
  readonly dimensions: number;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
