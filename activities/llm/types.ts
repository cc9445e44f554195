import type { z } from 'zod';
import type { LlmCall, LlmPurpose } from './metering.js';

export type { LlmCall, LlmPurpose, LlmUsage, UsageRecorder } from './metering.js';

export interface ChatTurn {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

/** What a purpose sends a model; `local` estimates its tokens from the same text. */
export interface Prompt {
  system: string;
  messages: ChatTurn[];
}

export interface CompletionRequest extends Prompt, LlmCall {
  /** Names the call in the token ledger. */
  purpose: LlmPurpose;
  maxTokens?: number;
  temperature?: number;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * A text model behind an OpenAI-compatible API. Every call that the server answers reports
 * its usage to `request.usage` (even when the answer is then rejected: it cost tokens).
 * Implementations translate failures into Temporal's terms where they happen: transient
 * (connection, timeout, 408/409/429/5xx) → a retryable `ApplicationFailure` of type
 * `LlmTransient` (with `nextRetryDelay` from `Retry-After`); anything else → non-retryable
 * (`LlmBadRequest`, `LlmAuthError`, `LlmOutputInvalid`).
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
  /** Reports one usage (purpose `embedding`) per request it makes. */
  embed(texts: string[], call?: LlmCall): Promise<number[][]>;
}
