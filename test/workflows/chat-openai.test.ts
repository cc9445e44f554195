/** The chat pipeline on the `openai` provider, against the fake OpenAI-compatible server. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { signals, threads } from '../../activities/db/schema/index.js';
import { createAssistant, createEmbedder } from '../../activities/llm/index.js';
import { loadConfig } from '../../workers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let fake: FakeOpenAi;
const queues = testQueues('openai');

beforeAll(async () => {
  [env, database, fake] = await Promise.all([connectTestEnv(), createTestDatabase(), startFakeOpenAi()]);
  const config = loadConfig({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, LLM_TIMEOUT_MS: '2000', EMBEDDING_DIMENSIONS: '8' });
  expect(config.llm.provider).toBe('openai');
  workers = await startTestWorkers({
    env,
    db: database.db,
    queues,
    assistant: createAssistant(config.llm),
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

describe('chat on the openai provider', () => {
  it('replies with the model text, extracts signals and titles the thread through structured output', async () => {
    fake.onChat = (body) => {
      if (isStructured(body, 'signals')) return { json: { signals: [{ type: 'goal', text: 'Open a bakery in Leeds', confidence: 0.9 }] } };
      if (isStructured(body, 'title')) return { json: { title: 'Bakery in Leeds' } };
      return { content: 'A model reply about the bakery.' };
    };
    const { thread, reply } = await ask('We want to open a bakery in Leeds next spring.');
    expect(reply).toMatchObject({ status: 'complete', content: 'A model reply about the bakery.' });
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
    const { reply } = await ask('Hello, a question about rents.');
    expect(reply).toMatchObject({ status: 'complete', content: 'Answered after the rate limit.' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(replyCalls().length).toBe(2);
  });

  it('retries a 500 and fails fast on a 400, marking the reply failed with a readable error', async () => {
    // Only the reply call fails: steps running in the background for other threads may also call the model.
    fake.onChat = (body) => (body.response_format ? { json: { signals: [], title: 'x' } } : { status: 500 });
    const { reply: failedAfterRetries } = await ask('First question that meets a broken server.');
    expect(failedAfterRetries?.status).toBe('failed');
    expect(replyCalls().length).toBe(3);

    fake.reset();
    fake.onChat = (body) => (body.response_format ? { json: { signals: [], title: 'x' } } : { status: 400 });
    const { reply, asked } = await ask('Second question that the model rejects.');
    expect(asked.status).toBe('failed');
    expect(reply?.status).toBe('failed');
    expect(reply?.content).toMatch(/could not be answered/);
    expect(replyCalls().length).toBe(1);
  });
});
