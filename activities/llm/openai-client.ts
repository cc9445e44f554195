/**
 * The `LlmClient` for OpenAI and OpenAI-compatible servers. The SDK's own retries are off:
 * Temporal owns retries, and failures are translated where they happen (./errors.ts).
 */
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ResponseFormatJSONSchema } from 'openai/resources/shared';
import { z } from 'zod';
import { llmFailure, outputInvalid, rethrowAsTemporalFailure } from './errors.js';
import { elapsedMs, tokenCount } from './metering.js';
import { strictModeViolations, withoutUnsupportedBounds } from './strict-schema.js';
import type { CompletionRequest, LlmClient, TokenUsage } from './types.js';

export interface OpenAiConnection {
  baseUrl?: string;
  apiKey: string;
  timeoutMs: number;
}

/** The one place the SDK is configured: no SDK retries, a per-request deadline. */
export function newOpenAiSdk(cfg: OpenAiConnection): OpenAI {
  return new OpenAI({ apiKey: cfg.apiKey, baseURL: cfg.baseUrl, maxRetries: 0, timeout: cfg.timeoutMs });
}

export function createOpenAiClient(cfg: OpenAiConnection & { model: string }): LlmClient {
  const sdk = newOpenAiSdk(cfg);

  async function create(request: CompletionRequest, extra: Partial<ChatCompletionCreateParamsNonStreaming>) {
    const startedAt = performance.now();
    let completion: ChatCompletion;
    try {
      completion = await sdk.chat.completions.create(
        { model: cfg.model, messages: toMessages(request), ...samplingOf(request), ...extra },
        { signal: request.signal },
      );
    } catch (err) {
      rethrowAsTemporalFailure(err, request.signal);
    }
    // Reported before the answer is checked: a refused, cut-off or invalid answer was still paid for.
    const { inputTokens, outputTokens } = usageOf(completion);
    request.usage?.record({
      purpose: request.purpose,
      provider: 'openai',
      model: cfg.model,
      promptTokens: inputTokens,
      completionTokens: outputTokens,
      latencyMs: elapsedMs(startedAt),
    });
    return completion;
  }

  return {
    model: cfg.model,
    async complete(request) {
      const completion = await create(request, {});
      return { text: acceptedText(completion), usage: usageOf(completion) };
    },
    async completeJson({ schema, schemaName, ...request }) {
      const completion = await create(request, { response_format: jsonSchemaFormat(schema, schemaName) });
      return { value: parseStructured(acceptedText(completion), schema, schemaName), usage: usageOf(completion) };
    },
  };
}

function toMessages(request: CompletionRequest): ChatCompletionMessageParam[] {
  const system: ChatCompletionMessageParam[] = request.system ? [{ role: 'system', content: request.system }] : [];
  return [...system, ...request.messages.map((m) => ({ role: m.role, content: m.content }))];
}

/** `max_completion_tokens`, not the deprecated `max_tokens`, which reasoning models reject. */
function samplingOf(request: CompletionRequest): Partial<ChatCompletionCreateParamsNonStreaming> {
  return {
    ...(request.maxTokens !== undefined ? { max_completion_tokens: request.maxTokens } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
  };
}

/** The whole reply or a failure: a cut-off, filtered, refused or empty reply is never used. */
function acceptedText(completion: ChatCompletion): string {
  const choice = Array.isArray(completion?.choices) ? completion.choices[0] : undefined;
  if (!choice) throw outputInvalid('the LLM API returned no choices');
  const { message, finish_reason: finishReason } = choice;
  if (message?.refusal) throw outputInvalid(`the model refused: ${message.refusal.slice(0, 200)}`);
  if (finishReason === 'length') throw outputInvalid('the reply was cut off at the token limit');
  if (finishReason === 'content_filter') throw outputInvalid('the reply was withheld by a content filter');
  if (typeof message?.content !== 'string' || message.content === '') {
    throw outputInvalid('the model returned an empty message');
  }
  return message.content;
}

/** Zero when the server reports none (some compatible servers do not). */
function usageOf(completion: ChatCompletion): TokenUsage {
  return {
    inputTokens: tokenCount(completion?.usage?.prompt_tokens),
    outputTokens: tokenCount(completion?.usage?.completion_tokens),
  };
}

function parseStructured<T>(text: string, schema: z.ZodType<T>, schemaName: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw outputInvalid(`${schemaName}: the model's reply is not valid JSON`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw outputInvalid(`${schemaName}: the model's JSON does not match the schema: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * zod 4's `toJSONSchema` (draft-7, as openai's own zod helper uses) already closes objects with
 * `additionalProperties: false`, and lists every field without `.optional()` as required, as
 * strict mode needs. Bounds outside strict mode's subset (`minLength`, `maxLength`: see
 * ./strict-schema.ts) are dropped from what is sent and checked by `schema` after the call. A
 * schema strict mode would still refuse (optional fields: turning them into required-nullable
 * ones would change what `safeParse` accepts) goes `strict: false`: it still guides the model,
 * and `safeParse` still checks the result.
 */
export function jsonSchemaFormat(schema: z.ZodType, schemaName: string): ResponseFormatJSONSchema {
  const jsonSchema = withoutUnsupportedBounds(toJsonSchema(schema, schemaName));
  return {
    type: 'json_schema',
    json_schema: {
      name: schemaName.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64),
      schema: jsonSchema,
      strict: strictModeViolations(jsonSchema).length === 0,
    },
  };
}

function toJsonSchema(schema: z.ZodType, schemaName: string): Record<string, unknown> {
  try {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7' }) as Record<string, unknown>;
    return rest;
  } catch (err) {
    // Transforms, dates and the like have no JSON Schema: a programming error, not worth a retry.
    throw llmFailure('LlmBadRequest', `schema ${schemaName} cannot be expressed as JSON Schema: ${String(err)}`);
  }
}
