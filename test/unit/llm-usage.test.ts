/**
 * Every purpose call reports its usage (DESIGN.md Decision 17): `local` estimates with
 * gpt-tokenizer, the OpenAI-compatible provider passes on what the server counted.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalLlm, createOpenAiLlm, type Llm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import type { LlmUsage, UsageRecorder } from '../../activities/llm/metering.js';
import { createOpenAiClient } from '../../activities/llm/openai-client.js';
import { createOpenAiEmbedder } from '../../activities/llm/openai-embedder.js';
import { replyLocally } from '../../activities/llm/purposes/reply.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';

const history = [{ role: 'user' as const, content: 'Our goal is to open a bakery in Leeds. The budget must stay under 50k.' }];
const signals = [{ type: 'risk', text: 'The lease might fall through.' }];
const agents = [{ type: 'research', description: 'Researches a question', cues: ['research', 'sources'] }];
const asked = ['Please research the sources on flour prices.', 'We assume demand grows.'];

function recorder(): UsageRecorder & { calls: LlmUsage[] } {
  const calls: LlmUsage[] = [];
  return { calls, record: (usage) => void calls.push(usage) };
}

/** Each purpose once, with its own recorder: the usage each call reported, by purpose. */
async function callEachPurpose(llm: Llm): Promise<Record<string, LlmUsage[]>> {
  const reply = recorder();
  const extraction = recorder();
  const title = recorder();
  const inflection = recorder();
  await llm.reply({ history, signals, usage: reply });
  await llm.extractSignals(asked, { usage: extraction });
  await llm.title(asked, { usage: title });
  await llm.detectInflection(asked, agents, { usage: inflection });
  return { reply: reply.calls, 'signal-extraction': extraction.calls, title: title.calls, inflection: inflection.calls };
}

const withoutLatency = (calls: LlmUsage[]) => calls.map(({ latencyMs: _latency, ...rest }) => rest);

describe('local purposes', () => {
  const local = createLocalLlm();

  it('report one call each, under its purpose, with estimated tokens', async () => {
    const byPurpose = await callEachPurpose(local);
    for (const [purpose, calls] of Object.entries(byPurpose)) {
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ purpose, provider: 'local', model: 'local-rules' });
      expect(calls[0]!.promptTokens).toBeGreaterThan(0);
      expect(calls[0]!.completionTokens).toBeGreaterThan(0);
      expect(calls[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('estimate deterministically: the same call reports the same tokens', async () => {
    const first = await callEachPurpose(local);
    const second = await callEachPurpose(local);
    for (const purpose of Object.keys(first)) {
      expect(withoutLatency(second[purpose]!)).toEqual(withoutLatency(first[purpose]!));
    }
  });

  it('count the prompt the OpenAI-compatible provider would send, so more context costs more', async () => {
    const small = recorder();
    const large = recorder();
    await local.reply({ history, signals: [], usage: small });
    await local.reply({ history, signals: [...signals, ...signals, ...signals], usage: large });
    expect(large.calls[0]!.promptTokens).toBeGreaterThan(small.calls[0]!.promptTokens);
    expect(large.calls[0]!.completionTokens).toBe(small.calls[0]!.completionTokens);
  });

  it('answer exactly as the rules do, with or without a recorder', async () => {
    const text = await local.reply({ history, signals });
    expect(text).toBe(replyLocally(history[0]!.content, signals));
    expect(text.startsWith('(local assistant, rule-based)')).toBe(true);
    expect(await local.reply({ history, signals, usage: recorder() })).toBe(text);
  });

  it('count text that looks like a special token as text instead of refusing it', async () => {
    const usage = recorder();
    const tricky = [{ role: 'user' as const, content: 'Our goal is <|endoftext|> to break the tokenizer.' }];
    await expect(local.reply({ history: tricky, signals: [], usage })).resolves.toContain('rule-based');
    expect(usage.calls[0]!.promptTokens).toBeGreaterThan(0);
  });

  it('make no call, and report none, when there is no agent to offer', async () => {
    const usage = recorder();
    expect(await local.detectInflection(asked, [], { usage })).toBeNull();
    expect(usage.calls).toHaveLength(0);
  });

  it('the local embedder reports its input under `embedding`, with no completion tokens', async () => {
    const usage = recorder();
    await createLocalEmbedder(16).embed(['one text', 'and another'], { usage });
    expect(usage.calls).toEqual([
      expect.objectContaining({ purpose: 'embedding', provider: 'local', model: 'local-hashing-16', completionTokens: 0 }),
    ]);
    expect(usage.calls[0]!.promptTokens).toBeGreaterThan(0);
  });
});

describe('OpenAI-compatible purposes', () => {
  let fake: FakeOpenAi;
  let llm: Llm;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    llm = createOpenAiLlm(createOpenAiClient({ baseUrl: fake.baseUrl, apiKey: 'sk-test', model: 'gpt-test', timeoutMs: 5_000 }));
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  /** A completion whose usage the test chose, so the ledger's numbers are the server's. */
  function answer(content: unknown, promptTokens: number, completionTokens: number, finishReason = 'stop') {
    const text = typeof content === 'string' ? content : JSON.stringify(content);
    return {
      body: {
        id: 'chatcmpl-usage', object: 'chat.completion', created: 0, model: 'gpt-test',
        choices: [{ index: 0, finish_reason: finishReason, message: { role: 'assistant', content: text } }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      },
    };
  }

  it("report the server's usage numbers, under each call's purpose", async () => {
    fake.enqueueChat(
      answer('A reply.', 101, 11),
      answer({ signals: [{ type: 'goal', text: 'Open a bakery', confidence: 0.9 }] }, 202, 22),
      answer({ title: 'Bakery plans' }, 303, 33),
      answer({ agentType: 'research', confidence: 0.8, reason: 'asked for sources', topic: 'sources on the bakery' }, 404, 44),
    );
    const byPurpose = await callEachPurpose(llm);
    expect(byPurpose).toEqual({
      reply: [expect.objectContaining({ provider: 'openai', model: 'gpt-test', promptTokens: 101, completionTokens: 11 })],
      'signal-extraction': [expect.objectContaining({ purpose: 'signal-extraction', promptTokens: 202, completionTokens: 22 })],
      title: [expect.objectContaining({ purpose: 'title', promptTokens: 303, completionTokens: 33 })],
      inflection: [expect.objectContaining({ purpose: 'inflection', promptTokens: 404, completionTokens: 44 })],
    });
    expect(byPurpose.reply![0]!.purpose).toBe('reply');
  });

  it('report what the default fake counted, which is what its body says', async () => {
    const usage = recorder();
    await llm.reply({ history, signals, usage });
    const sent = fake.requests[0]!.body.messages;
    expect(usage.calls[0]!.promptTokens).toBe(Math.ceil(JSON.stringify(sent).length / 4));
  });

  it('report an answer that is then rejected: the tokens were spent', async () => {
    fake.enqueueChat(answer('The answer is', 50, 800, 'length'));
    const usage = recorder();
    const err = await llm.reply({ history, signals, usage }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('LlmOutputInvalid');
    expect(usage.calls).toEqual([expect.objectContaining({ purpose: 'reply', promptTokens: 50, completionTokens: 800 })]);
  });

  it('report nothing for a call the server did not answer', async () => {
    fake.enqueueChat({ status: 500 });
    const usage = recorder();
    await expect(llm.reply({ history, signals, usage })).rejects.toBeInstanceOf(ApplicationFailure);
    expect(usage.calls).toHaveLength(0);
  });

  it('count a garbled usage field as zero rather than fail the call', async () => {
    const garbled = answer('Fine.', 0, 0);
    garbled.body.usage = { prompt_tokens: 'many', completion_tokens: -3 } as never;
    fake.enqueueChat(garbled);
    const usage = recorder();
    expect(await llm.reply({ history, signals, usage })).toBe('Fine.');
    expect(usage.calls[0]).toMatchObject({ promptTokens: 0, completionTokens: 0 });
  });

  it('the embedder reports each request it makes, with the counts the server sent', async () => {
    const embedder = createOpenAiEmbedder({ baseUrl: fake.baseUrl, apiKey: 'sk-test', model: 'embed-test', dimensions: 8, timeoutMs: 5_000 });
    const usage = recorder();
    await embedder.embed(Array.from({ length: 100 }, (_, i) => `text ${i}`), { usage });
    const sent = fake.requests.map((r) => (r.body.input as string[]).reduce((sum, t) => sum + Math.ceil(t.length / 4), 0));
    expect(usage.calls.map((c) => [c.purpose, c.model, c.promptTokens, c.completionTokens])).toEqual(
      sent.map((tokens) => ['embedding', 'embed-test', tokens, 0]),
    );
    expect(usage.calls).toHaveLength(2);
  });
});
