import { createServer } from 'node:net';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { APIConnectionTimeoutError, APIUserAbortError, RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_RETRY_DELAY_MS, toTemporalFailure } from '../../activities/llm/errors.js';
import { createOpenAiClient, newOpenAiSdk } from '../../activities/llm/openai-client.js';
import { createOpenAiEmbedder } from '../../activities/llm/openai-embedder.js';
import { openAiSignalExtractor } from '../../activities/llm/purposes/signal-extraction.js';
import type { LlmClient } from '../../activities/llm/types.js';
import { fakeEmbedding, startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { failureOf } from '../helpers/failures.js';

const API_KEY = 'sk-test-0123456789abcdef';
const Verdict = z.object({ answer: z.string(), confidence: z.number().min(0).max(1) });
const ask = { purpose: 'reply' as const, system: 'be brief', messages: [{ role: 'user' as const, content: 'What is 2+2?' }] };

let fake: FakeOpenAi;
let llm: LlmClient;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  llm = clientFor(fake.baseUrl);
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function clientFor(baseUrl: string, timeoutMs = 5_000): LlmClient {
  return createOpenAiClient({ baseUrl, apiKey: API_KEY, model: 'gpt-test', timeoutMs });
}

function expectFailure(failure: ApplicationFailure, type: string, nonRetryable: boolean): void {
  expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type, nonRetryable });
  expect(failure.message).not.toContain(API_KEY);
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v1`;
}

describe('createOpenAiClient: successful calls', () => {
  it('completes plain text with usage, sending the system prompt, key and no SDK retries', async () => {
    fake.enqueueChat({ content: 'Four.' });
    const result = await llm.complete({ ...ask, maxTokens: 50, temperature: 0 });
    expect(result.text).toBe('Four.');
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    const [request] = fake.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.body).toMatchObject({
      model: 'gpt-test',
      max_completion_tokens: 50,
      temperature: 0,
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'What is 2+2?' }],
    });
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['x-stainless-retry-count']).toBe('0');
  });

  it('answers from the default onChat when nothing is scripted', async () => {
    const result = await llm.complete(ask);
    expect(result.text).toBe('Fake reply to: What is 2+2?');
  });

  it('returns zero usage when the server reports none', async () => {
    fake.enqueueChat({ body: { choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'ok' } }] } });
    expect(await llm.complete(ask)).toEqual({ text: 'ok', usage: { inputTokens: 0, outputTokens: 0 } });
  });

  it('returns structured output validated by zod, sent as a strict json_schema', async () => {
    fake.enqueueChat({ json: { answer: '4', confidence: 0.9 } });
    const result = await llm.completeJson({ ...ask, schema: Verdict, schemaName: 'verdict' });
    expect(result.value).toEqual({ answer: '4', confidence: 0.9 });
    const format = fake.requests[0]?.body.response_format;
    expect(format).toMatchObject({ type: 'json_schema', json_schema: { name: 'verdict', strict: true } });
    expect(format.json_schema.schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['answer', 'confidence'] });
    expect(format.json_schema.schema.$schema).toBeUndefined();
  });

  it('sends schemas with optional fields non-strict, and the default onChat satisfies simple schemas', async () => {
    const WithOptional = z.object({ title: z.string(), note: z.string().optional(), tags: z.array(z.string()) });
    const result = await llm.completeJson({ ...ask, schema: WithOptional, schemaName: 'with optional' });
    expect(result.value).toEqual({ title: 'x', tags: [] });
    expect(fake.requests[0]?.body.response_format.json_schema).toMatchObject({ name: 'with_optional', strict: false });
  });
});

describe('createOpenAiClient: strict schemas', () => {
  const Bounded = z.object({ name: z.string().max(5), score: z.number().min(0).max(1) });

  it('the fake refuses a strict schema outside strict mode\'s subset with a 400, as OpenAI does', async () => {
    const sdk = newOpenAiSdk({ baseUrl: fake.baseUrl, apiKey: API_KEY, timeoutMs: 5_000 });
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 5 } }, required: ['name'], additionalProperties: false };
    const err = await sdk.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400 });
    expect((err as Error).message).toContain("'maxLength' is not supported");
  });

  it('drops length bounds from the schema it sends, says them in the description, and checks them after the call', async () => {
    fake.enqueueChat({ json: { name: 'abc', score: 0.5 } }, { json: { name: 'abcdef', score: 0.5 } });
    expect((await llm.completeJson({ ...ask, schema: Bounded, schemaName: 'bounded' })).value).toEqual({ name: 'abc', score: 0.5 });
    const format = fake.requests[0]?.body.response_format.json_schema;
    expect(format).toMatchObject({ strict: true, schema: { properties: { name: { type: 'string', description: 'at most 5 characters' }, score: { minimum: 0, maximum: 1 } } } });
    expect(format.schema.properties.name.maxLength).toBeUndefined();
    const failure = await failureOf(llm.completeJson({ ...ask, schema: Bounded, schemaName: 'bounded' }));
    expectFailure(failure, 'LlmOutputInvalid', true);
    expect(failure.message).toContain('name');
  });

  it('signal extraction keeps a signal longer than 300 characters, cut, and drops an empty one, instead of failing', async () => {
    const long = `We assume ${'the market keeps growing and '.repeat(12)}rents stay flat.`;
    expect(long.length).toBeGreaterThan(300);
    fake.enqueueChat({
      json: { signals: [
        { type: 'assumption', text: long, confidence: 0.8 },
        { type: 'goal', text: '   ', confidence: 0.9 },
        { type: 'goal', text: 'Open a bakery in Leeds', confidence: 0.9 },
      ] },
    });
    const found = await openAiSignalExtractor(llm)(['We want to open a bakery in Leeds.']);
    expect(found.map((s) => s.type)).toEqual(['assumption', 'goal']);
    expect(found[0]!.text.length).toBeLessThanOrEqual(300);
    expect(found[0]!.text).toMatch(/^We assume the market keeps growing.*…$/);
    expect(found[1]).toEqual({ type: 'goal', text: 'Open a bakery in Leeds', confidence: 0.9 });
  });
});

describe('createOpenAiClient: HTTP failures', () => {
  it('429 with Retry-After: 2 is retryable with a 2 s next retry delay, after exactly one request', async () => {
    fake.enqueueChat({ status: 429, headers: { 'retry-after': '2' }, content: 'Rate limit reached' });
    const failure = await failureOf(llm.complete(ask));
    expectFailure(failure, 'LlmTransient', false);
    expect(failure.nextRetryDelay).toBe(2_000);
    expect(failure.message).toContain('Rate limit reached');
    expect(fake.requests).toHaveLength(1);
  });

  it.each([408, 409, 500, 502, 503])('%i is retryable LlmTransient after one request', async (status) => {
    fake.enqueueChat({ status });
    expectFailure(await failureOf(llm.complete(ask)), 'LlmTransient', false);
    expect(fake.requests).toHaveLength(1);
  });

  it.each([
    [400, 'LlmBadRequest'],
    [404, 'LlmBadRequest'],
    [422, 'LlmBadRequest'],
    [401, 'LlmAuthError'],
    [403, 'LlmAuthError'],
  ])('%i is non-retryable %s after one request', async (status, type) => {
    fake.enqueueChat({ status });
    expectFailure(await failureOf(llm.complete(ask)), type, true);
    expect(fake.requests).toHaveLength(1);
  });

  it('keeps API keys echoed by the provider out of the failure message', async () => {
    fake.enqueueChat({ status: 401, content: `Incorrect API key provided: ${API_KEY}.` });
    const failure = await failureOf(llm.complete(ask));
    expectFailure(failure, 'LlmAuthError', true);
    expect(failure.message).toContain('Incorrect API key provided: sk-***');
  });

  it('a client timeout is retryable', async () => {
    fake.enqueueChat({ delayMs: 2_000, content: 'too late' });
    const started = Date.now();
    expectFailure(await failureOf(clientFor(fake.baseUrl, 200).complete(ask)), 'LlmTransient', false);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(fake.requests).toHaveLength(1);
  });

  it('connection refused is retryable', async () => {
    const failure = await failureOf(clientFor(await closedPortUrl()).complete(ask));
    expectFailure(failure, 'LlmTransient', false);
    expect(failure.message).toContain('ECONNREFUSED');
  });
});

describe('createOpenAiClient: output the model must not be trusted with', () => {
  const cases: [string, Parameters<FakeOpenAi['enqueueChat']>[0]][] = [
    ['malformed JSON', { content: '{"answer": "4", ' }],
    ['a schema mismatch', { json: { answer: 4 } }],
    ['extra fields are fine but a missing one is not', { json: { confidence: 0.5, extra: true } }],
    ['a refusal', { refusal: 'I cannot help with that.' }],
    ["finish_reason 'length'", { json: { answer: '4', confidence: 0.9 }, finishReason: 'length' }],
    ['an empty choice list', { body: { id: 'x', object: 'chat.completion', choices: [] } }],
  ];
  it.each(cases)('%s → non-retryable LlmOutputInvalid', async (_label, reply) => {
    fake.enqueueChat(reply);
    const failure = await failureOf(llm.completeJson({ ...ask, schema: Verdict, schemaName: 'verdict' }));
    expectFailure(failure, 'LlmOutputInvalid', true);
  });

  it("a plain completion cut off at the token limit is not returned", async () => {
    fake.enqueueChat({ content: 'The answer is', finishReason: 'length' });
    expectFailure(await failureOf(llm.complete(ask)), 'LlmOutputInvalid', true);
  });
});

describe('createOpenAiClient: cancellation', () => {
  it('an aborted signal stops the request promptly and rethrows the abort, not a retryable failure', async () => {
    fake.enqueueChat({ delayMs: 5_000, content: 'never seen' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await llm.complete({ ...ask, signal: controller.signal }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect((err as Error).name).toBe('AbortError');
    expect(fake.requests).toHaveLength(1);
  });

  it("rethrows Temporal's CancelledFailure reason as-is, so the activity reports cancelled", async () => {
    fake.enqueueChat({ delayMs: 5_000, content: 'never seen' });
    const controller = new AbortController();
    const reason = new CancelledFailure('CANCELLED');
    setTimeout(() => controller.abort(reason), 100);
    await expect(llm.complete({ ...ask, signal: controller.signal })).rejects.toBe(reason);
  });

  it('an already aborted signal sends nothing', async () => {
    const reason = new CancelledFailure('CANCELLED');
    await expect(llm.complete({ ...ask, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('createOpenAiEmbedder', () => {
  const embedderFor = (dimensions: number) =>
    createOpenAiEmbedder({ baseUrl: fake.baseUrl, apiKey: API_KEY, model: 'embed-test', dimensions, timeoutMs: 5_000 });

  it('batches 200 inputs into requests of at most 96, keeping order', async () => {
    const texts = Array.from({ length: 200 }, (_, i) => `text ${i}`);
    const vectors = await embedderFor(16).embed(texts);
    expect(fake.requests.map((r) => r.body.input.length)).toEqual([96, 96, 8]);
    expect(fake.requests[0]?.body).toMatchObject({ model: 'embed-test', dimensions: 16, encoding_format: 'float' });
    expect(vectors).toHaveLength(200);
    expect(vectors[150]).toEqual(fakeEmbedding('text 150', 16));
  });

  it("the fake also serves the SDK's default base64 encoding, 8 dimensions unless asked", async () => {
    const sdk = newOpenAiSdk({ baseUrl: fake.baseUrl, apiKey: API_KEY, timeoutMs: 5_000 });
    const response = await sdk.embeddings.create({ model: 'embed-test', input: ['hello'] });
    expect(fake.requests[0]?.body.encoding_format).toBe('base64');
    expect(response.data[0]?.embedding).toEqual(fakeEmbedding('hello', 8));
  });

  it('makes no request for no texts', async () => {
    expect(await embedderFor(8).embed([])).toEqual([]);
    expect(fake.requests).toHaveLength(0);
  });

  it('rejects vectors of the wrong size as LlmOutputInvalid', async () => {
    const data = [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }];
    fake.enqueueEmbeddings({ body: { object: 'list', data, model: 'embed-test', usage: { prompt_tokens: 1, total_tokens: 1 } } });
    expectFailure(await failureOf(embedderFor(16).embed(['a'])), 'LlmOutputInvalid', true);
  });

  it('translates HTTP failures the same way, with one request', async () => {
    fake.enqueueEmbeddings({ status: 503, headers: { 'retry-after-ms': '1500' } });
    const failure = await failureOf(embedderFor(8).embed(['a', 'b']));
    expectFailure(failure, 'LlmTransient', false);
    expect(failure.nextRetryDelay).toBe(1_500);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('toTemporalFailure', () => {
  const rateLimited = (headers: Record<string, string>) =>
    new RateLimitError(429, { message: 'slow down' }, undefined, new Headers(headers));

  it('reads Retry-After as an HTTP date', () => {
    const inThirtySeconds = new Date(Date.now() + 30_000).toUTCString();
    const failure = toTemporalFailure(rateLimited({ 'retry-after': inThirtySeconds }));
    expectFailure(failure, 'LlmTransient', false);
    expect(failure.nextRetryDelay).toBeGreaterThan(28_000);
    expect(failure.nextRetryDelay).toBeLessThanOrEqual(30_000);
  });

  it('caps long Retry-After values and ignores past dates', () => {
    expect(toTemporalFailure(rateLimited({ 'retry-after': '3600' })).nextRetryDelay).toBe(MAX_RETRY_DELAY_MS);
    const past = new Date(Date.now() - 60_000).toUTCString();
    expect(toTemporalFailure(rateLimited({ 'retry-after': past })).nextRetryDelay).toBeUndefined();
  });

  it('passes an ApplicationFailure through unchanged', () => {
    const original = ApplicationFailure.nonRetryable('bad', 'ValidationError');
    expect(toTemporalFailure(original)).toBe(original);
  });

  it('treats node network errors and SDK timeouts as transient', () => {
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'EPIPE']) {
      expectFailure(toTemporalFailure(Object.assign(new Error(`read ${code}`), { code })), 'LlmTransient', false);
    }
    expectFailure(toTemporalFailure(new Error('socket hang up')), 'LlmTransient', false);
    expectFailure(toTemporalFailure(new APIConnectionTimeoutError()), 'LlmTransient', false);
    expectFailure(toTemporalFailure(new DOMException('timed out', 'TimeoutError')), 'LlmTransient', false);
  });

  it('never makes a user abort retryable', () => {
    expectFailure(toTemporalFailure(new APIUserAbortError()), 'Cancelled', true);
    expectFailure(toTemporalFailure(new DOMException('aborted', 'AbortError')), 'Cancelled', true);
  });
});
