/**
 * casework as a client sees it, on one database: the real activities (local provider,
 * counted) and workers on queues of their own, and the gateway in sync mode on a free port.
 * Config shapes as in test/helpers/stack.ts; limits opened up so the load is never refused.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { buildApp } from '../api/app.js';
import { createActivities } from '../activities/index.js';
import { createDb } from '../activities/db/client.js';
import { createLocalLlm } from '../activities/llm/llm.js';
import { createLocalEmbedder } from '../activities/llm/local-embedder.js';
import { QUEUE_KINDS, queueNames, type BriefConfig } from '../workers/config.js';
import { createWorkers } from '../workers/worker.js';
import { freePort } from '../test/helpers/temporal-server.js';
import { countingModels, type ModelCalls } from './counting-models.js';
import type { BenchDatabase, Harness } from './harness.js';

const DEV_KEY = 'cw_bench_0123456789abcdef';

export interface ChatStack {
  label: BenchDatabase['label'];
  taskQueues: string[];
  modelCalls(): ModelCalls;
  /** Messages sent so far (answered or not). */
  turnsSent(): number;
  createThread(): Promise<{ id: string }>;
  /** One sync POST; resolves once the reply is stored (the gateway answers with it). */
  send(threadId: string, content: string): Promise<void>;
  /** Any POST through the gateway with the bench's key (throws on a status that is not 2xx). */
  post<T>(path: string, body: unknown): Promise<T>;
  /** The client its workers share (for histories). */
  client: Client;
  /** The stack's own database handle. */
  db: ReturnType<typeof createDb>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The brief's debounce windows the activities pass to `evolveBrief`; absent: the defaults (10 s, 60 s). */
  brief?: BriefConfig;
}

export async function startChatStack(harness: Harness, database: BenchDatabase, options: StackOptions = {}): Promise<ChatStack> {
  const handle = createDb(database.url, { poolMax: 10 });
  const queues = queueNames(`bench-${database.label}-`);
  const nativeConnection = await NativeConnection.connect({ address: harness.address });
  const client = new Client({ connection: await Connection.connect({ address: harness.address }) });
  const models = countingModels(createLocalLlm(), createLocalEmbedder(256));
  const activities = createActivities({
    db: handle.db, llm: models.llm, embedder: models.embedder, temporal: client,
    config: { queues, chat: { redeliveryAfterMs: 30_000 }, ...(options.brief ? { brief: options.brief } : {}) }, clock: () => new Date(),
  });
  const workers = await createWorkers({
    connection: nativeConnection, namespace: 'default', queues, kinds: QUEUE_KINDS,
    activities, workflowBundle: harness.bundle, shutdownGraceMs: 1000,
  });
  const running = workers.map((w) => w.run());
  const app = await buildApp({
    db: handle.db, sql: handle.sql, temporal: client, embedder: models.embedder,
    config: {
      queues,
      chat: { syncResponses: true, syncTimeoutMs: 30_000, messageMaxChars: 20_000, redeliveryAfterMs: 30_000, maxPendingPerThread: 50 },
      bodyLimitBytes: 1_048_576, rateLimitPerMinute: 1_000_000, devApiKey: DEV_KEY,
    },
  });
  const port = await freePort();
  await app.listen({ port, host: '127.0.0.1' });
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  let turns = 0;
  return {
    label: database.label,
    taskQueues: Object.values(queues),
    modelCalls: models.calls,
    turnsSent: () => turns,
    post,
    client,
    db: handle,
    createThread: () => post<{ id: string }>('/v1/threads', {}),
    async send(threadId, content) {
      turns++;
      const answer = await post<{ reply?: { status: string } | null }>(`/v1/threads/${threadId}/messages`, { content });
      if (answer.reply?.status !== 'complete') throw new Error(`no reply in time: ${JSON.stringify(answer).slice(0, 300)}`);
    },
    async stop() {
      await app.close();
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await handle.close();
      await nativeConnection.close();
      await client.connection.close();
    },
  };
}
