/** The chat pipeline on the `openai` provider, against the fake OpenAI-compatible server. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq } from 'drizzle-orm';
import { signals, threads, tokenLedger } from '../../activities/db/schema/index.js';
import { createEmbedder, createLlm } from '../../activities/llm/index.js';
import { loadConfig } from '../../workers/config.js';
import { workflowIds } from '../../workflows/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let fake: FakeOpenAi;
let llmModel: string;
const queues = testQueues('openai');

beforeAll(async () => {
  [env, database, fake] = await Promise.all([connectTestEnv(), createTestDatabase(), startFakeOpenAi()]);
  const config = loadConfig({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, LLM_TIMEOUT_MS: '2000', EMBEDDING_DIMENSIONS: '8' });
  expect(config.llm.provider).toBe('openai');
  llmModel = config.llm.model;
  workers = await startTestWorkers({
    env,
    db: database.db,
    queues,
    llm: createLlm(config.llm),
    embedder: createEmbedder(config.llm),
  });
});

afterAll(async () => {
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
  await fake?.close();
});

beforeEach(() => fake.reset());

async function ask(content: string) {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id);
  const m = await sendMessage({ db: database.db, client: env.client, queues, threadId: thread.id, userId: user.id }, content);
  return { thread, ...(await waitForAnswer(database.db, thread.id, m.id)) };
}

const chatCalls = () => fake.requests.filter((r) => r.path.endsWith('/chat/completions'));
const replyCalls = () => chatCalls().filter((r) => !r.body.response_format);
const isStructured = (body: { response_format?: { json_schema?: { name?: string } } }, name: string) =>
  body.response_format?.json_schema?.name === name;
const replyLedger = (threadId: string) =>
  database.db
    .select()
    .from(tokenLedger)
    .where(and(eq(tokenLedger.workflowId, workflowIds.conversation(threadId)), eq(tokenLedger.purpose, 'reply')));

/** A completion carrying usage numbers the test chose, so the ledger's can only be the server's. */
function completionWithUsage(content: string, promptTokens: number, completionTokens: number) {
  return {
    body: {
      id: 'chatcmpl-ledger', object: 'chat.completion', created: 0, model: 'fake-model',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    },
  };
}

describe('chat on the openai provider', () => {
  it('replies with the model text, extracts signals and titles the thread through structured output', async () => {
    fake.onChat = (body) => {
      if (isStructured(body, 'signals')) return { json: { signals: [{ type: 'goal', text: 'Open a bakery in Leeds', confidence: 0.9 }] } };
      if (isStructured(body, 'title')) return { json: { title: 'Bakery in Leeds' } };
      return completionWithUsage('A model reply about the bakery.', 321, 54);
    };
    const { thread, reply } = await ask('We want to open a bakery in Leeds next spring.');
    expect(reply).toMatchObject({ status: 'complete', content: 'A model reply about the bakery.' });
    expect(await replyLedger(thread.id)).toEqual([
      expect.objectContaining({ provider: 'openai', model: llmModel, promptTokens: 321, completionTokens: 54, attempt: 1 }),
    ]);
    const stored = await eventually(
      () => database.db.select().from(signals).where(eq(signals.threadId, thread.id)),
      (rows) => rows.length === 1 && rows[0]!.embedding !== null,
    );
    expect(stored[0]).toMatchObject({ type: 'goal', text: 'Open a bakery in Leeds' });
    expect(stored[0]!.embedding).toHaveLength(8);
    await eventually(() => database.db.select().from(threads).where(eq(threads.id, thread.id)), ([t]) => t?.title === 'Bakery in Leeds');
  });

  it('retries a 429 after its Retry-After and then answers', async () => {
    fake.enqueueChat({ status: 429, headers: { 'retry-after': '1' } });
    fake.onChat = () => ({ content: 'Answered after the rate limit.' });
    const started = Date.now();
    const { thread, reply } = await ask('Hello, a question about rents.');
    expect(reply).toMatchObject({ status: 'complete', content: 'Answered after the rate limit.' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(replyCalls().length).toBe(2);
    // The 429 cost nothing; the second attempt, which was answered, is counted as such.
    expect((await replyLedger(thread.id)).map((r) => r.attempt)).toEqual([2]);
  });

  it('retries a 500 and fails fast on a 400, marking the reply failed with a readable error', async () => {
    // Only the reply call fails: steps running in the background for other threads may also call the model.
    fake.onChat = (body) => (body.response_format ? { json: { signals: [], title: 'x' } } : { status: 500 });
    const { thread: broken, reply: failedAfterRetries } = await ask('First question that meets a broken server.');
    expect(failedAfterRetries?.status).toBe('failed');
    expect(replyCalls().length).toBe(3);
    expect(await replyLedger(broken.id)).toEqual([]);

    fake.reset();
    fake.onChat = (body) => (body.response_format ? { json: { signals: [], title: 'x' } } : { status: 400 });
    const { reply, asked } = await ask('Second question that the model rejects.');
    expect(asked.status).toBe('failed');
    expect(reply?.status).toBe('failed');
    expect(reply?.content).toMatch(/could not be answered/);
    expect(replyCalls().length).toBe(1);
  });
});
