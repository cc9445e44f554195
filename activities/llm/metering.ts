/**
 * What every model call reports (DESIGN.md Decision 17): its purpose, provider, model,
 * tokens and latency, to the recorder its caller passed. The activity that made the call
 * writes the report to the token ledger (../usage.ts); a call with no recorder (a unit
 * test, a script) reports nothing.
 */
import { countTokens } from '../parse/tokens.js';
import type { Prompt } from './types.js';

/** Every purpose a model is called for; a new purpose (./purposes/) adds its name here. */
export type LlmPurpose =
  | 'reply'
  | 'signal-extraction'
  | 'title'
  | 'inflection'
  | 'brief'
  | 'embedding'
  | 'evidence-scoring'
  | 'evidence-link'
  | 'contradiction'
  | 'research-plan'
  | 'research-extract'
  | 'research-evaluate'
  | 'research-synthesize'
  | 'critique'
  | 'brief-draft';

export interface LlmUsage {
  purpose: LlmPurpose;
  provider: 'local' | 'openai';
  model: string;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
}

export interface UsageRecorder {
  record(usage: LlmUsage): void;
}

/** What every purpose call takes besides its input. */
export interface LlmCall {
  /** Aborts the HTTP call (activity cancellation). */
  signal?: AbortSignal;
  /** Where the call's usage goes. */
  usage?: UsageRecorder;
}

/** `local` is rules, not a model; the ledger says so. */
export const LOCAL_RULES_MODEL = 'local-rules';

/**
 * Tokens in o200k_base, gpt-tokenizer's default: an estimate for any model. Counted in
 * bounded pieces (../parse/tokens.ts): a message or a chunk of one long run of spaces would
 * otherwise cost seconds per call, on the event loop.
 */
export function estimateTokens(text: string): number {
  return text === '' ? 0 : countTokens(text);
}

/** The ledger's token columns are int4. */
const MAX_TOKEN_COUNT = 2_147_483_647;

/** A token count from a server's answer, which a compatible server may omit or garble. */
export function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? Math.min(value, MAX_TOKEN_COUNT) : 0;
}

export function promptText(prompt: Prompt): string {
  return [prompt.system, ...prompt.messages.map((m) => m.content)].join('\n');
}

export function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}

export interface LocalEstimate {
  purpose: LlmPurpose;
  model?: string;
  /** What the OpenAI-compatible implementation of the purpose would have sent. */
  input: Prompt | string;
  /** What a model would have answered: the text, or the JSON of the structured value. */
  output: string;
  startedAt: number;
}

/**
 * `local` reports what a model would have been charged for the same call, so budgets and
 * "LLM calls per turn" read the same on both providers. Counted only when someone listens.
 */
export function reportLocalUsage(call: LlmCall | undefined, estimate: LocalEstimate): void {
  if (!call?.usage) return;
  call.usage.record({
    purpose: estimate.purpose,
    provider: 'local',
    model: estimate.model ?? LOCAL_RULES_MODEL,
    promptTokens: estimateTokens(typeof estimate.input === 'string' ? estimate.input : promptText(estimate.input)),
    completionTokens: estimateTokens(estimate.output),
    latencyMs: elapsedMs(estimate.startedAt),
  });
}
