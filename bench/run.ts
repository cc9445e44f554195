/**
 * `npm run bench`: from one run on one dev server (tuned as in notes/temporal-sdk.md §11),
 * the chat pipeline's latency through the gateway (local provider, sync POST: from the
 * request to the stored reply, as a client sees it) next to a bare workflow with one no-op
 * activity started and awaited by a client, their ratio, and the sustained chat rate, on
 * the real PostgreSQL server and on the embedded one side by side.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import postgres from 'postgres';
import { buildApp } from '../api/app.js';
import { createActivities } from '../activities/index.js';
import { createDb, type DbHandle } from '../activities/db/client.js';
import { startEmbeddedPostgres } from '../activities/db/embedded.js';
import { runMigrations } from '../activities/db/migrate.js';
import { createLocalAssistant } from '../activities/llm/local-assistant.js';
import { createLocalEmbedder } from '../activities/llm/local-embedder.js';
import { QUEUE_KINDS, queueNames } from '../workers/config.js';
import { bundleWorkflows, createWorkers } from '../workers/worker.js';
import { devServerArgs, findTemporalCli, freePort, waitForTemporal } from '../test/helpers/temporal-server.js';
import { ms, summarize, timed, type Summary } from './stats.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const WARMUP = 20;
const RATE_THREADS = 50;
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 15);
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DEV_KEY = 'cw_bench_0123456789abcdef';

Runtime.install({ logger: new DefaultLogger('ERROR') });

interface Stack {
  label: string;
  database: DbHandle;
  baseUrl: string;
  stop(): Promise<void>;
}

async function serverDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `casework_bench_${Date.now()}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

async function startStack(label: string, url: string, address: string, bundle: Awaited<ReturnType<typeof bundleWorkflows>>): Promise<Stack> {
  await runMigrations(url);
  const database = createDb(url, { poolMax: 10 });
  const queues = queueNames(`bench-${label}-`);
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const activities = {
    ...createActivities({
      db: database.db, assistant: createLocalAssistant(), embedder: createLocalEmbedder(256), temporal: client,
      config: { queues, chat: { redeliveryAfterMs: 30_000 } }, clock: () => new Date(),
    }),
    benchNoop: async () => {},
  };
  const workers: Worker[] = await createWorkers({
    connection: nativeConnection, namespace: 'default', queues, kinds: QUEUE_KINDS,
    activities, workflowBundle: bundle, shutdownGraceMs: 1000,
  });
  const running = workers.map((w) => w.run());
  const app = await buildApp({
    db: database.db, sql: database.sql, temporal: client,
    config: { queues, chat: { syncResponses: true, syncTimeoutMs: 30_000, messageMaxChars: 20_000, redeliveryAfterMs: 30_000, maxPendingPerThread: 50 }, bodyLimitBytes: 1_048_576, devApiKey: DEV_KEY },
  });
  const port = await freePort();
  await app.listen({ port, host: '127.0.0.1' });
  return {
    label,
    database,
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      await app.close();
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await database.close();
      await nativeConnection.close();
      await client.connection.close();
    },
  };
}

async function api(stack: Stack, path: string, body?: unknown): Promise<any> {
  const res = await fetch(stack.baseUrl + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function timedTurn(stack: Stack, threadId: string, i: number): Promise<number> {
  return timed(async () => {
    const answer = await api(stack, `/v1/threads/${threadId}/messages`, { content: `Our goal is to benchmark turn ${i}. We must keep it fast.` });
    if (answer.reply?.status !== 'complete') throw new Error(`turn ${i} not answered in time: ${JSON.stringify(answer).slice(0, 300)}`);
  });
}

/** The first message of a new thread: includes starting its conversation workflow. */
async function firstTurnLatency(stack: Stack): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const thread = await api(stack, '/v1/threads', {});
    const took = await timedTurn(stack, thread.id, i);
    if (i >= WARMUP) samples.push(took);
  }
  return summarize(samples);
}

/**
 * A message to a thread whose conversation is already running (the common case), round
 * robin over a pool so each thread has finished its previous turn's after-reply steps.
 */
async function laterTurnLatency(stack: Stack): Promise<Summary> {
  const pool = await Promise.all(Array.from({ length: 20 }, () => api(stack, '/v1/threads', {})));
  for (const [i, t] of pool.entries()) await timedTurn(stack, t.id, i);
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const took = await timedTurn(stack, pool[i % pool.length].id, i);
    if (i >= WARMUP) samples.push(took);
  }
  return summarize(samples);
}

/** 50 threads, one message in flight per thread, for RATE_SECONDS. */
async function sustainedRate(stack: Stack): Promise<number> {
  const threads = await Promise.all(Array.from({ length: RATE_THREADS }, () => api(stack, '/v1/threads', {})));
  const deadline = Date.now() + RATE_SECONDS * 1000;
  let answered = 0;
  await Promise.all(threads.map(async (t, k) => {
    for (let i = 0; Date.now() < deadline; i++) {
      await api(stack, `/v1/threads/${t.id}/messages`, { content: `Thread ${k} message ${i}: we assume the rate holds.` });
      answered++;
    }
  }));
  return answered / RATE_SECONDS;
}

async function baseline(address: string, bundle: Awaited<ReturnType<typeof bundleWorkflows>>): Promise<Summary> {
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const [worker] = await createWorkers({
    connection: nativeConnection, namespace: 'default', queues: queueNames('bench-bare-'), kinds: ['chat'],
    activities: { benchNoop: async () => {} } as never, workflowBundle: bundle, shutdownGraceMs: 1000,
  });
  const running = worker!.run();
  const once = (i: number) => timed(() => client.workflow.execute('oneNoopActivity', { taskQueue: 'bench-bare-chat', workflowId: `bench-noop-${Date.now()}-${i}` }));
  for (let i = 0; i < WARMUP; i++) await once(i);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await once(i));
  worker!.shutdown();
  await running;
  await nativeConnection.close();
  await client.connection.close();
  return summarize(samples);
}

const row = (name: string, s: Summary) => `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} |`;

const port = await freePort();
const server = spawn(findTemporalCli(), devServerArgs({ port, headless: true }), { stdio: 'ignore' });
const address = `127.0.0.1:${port}`;
const embedded = await startEmbeddedPostgres({ port: 0 });
const serverDb = await serverDatabase();
try {
  await waitForTemporal(address, 30_000);
  const bundle = await bundleWorkflows(fileURLToPath(new URL('./workflows.ts', import.meta.url)));
  console.log(`casework bench: ${SAMPLES} samples each after ${WARMUP} warm-up, local provider, one tuned dev server\n`);
  const bare = await baseline(address, bundle);
  const results: { label: string; first: Summary; later: Summary; rate: number }[] = [];
  for (const [label, url] of [['postgres', serverDb.url], ['embedded', embedded.url]] as const) {
    const stack = await startStack(label, url, address, bundle);
    try {
      const later = await laterTurnLatency(stack);
      const first = await firstTurnLatency(stack);
      const rate = await sustainedRate(stack);
      results.push({ label, first, later, rate });
    } finally {
      await stack.stop();
    }
  }
  console.log('| run | n | p50 | p95 | p99 |\n| --- | --- | --- | --- | --- |');
  console.log(row('bare: workflow with one no-op activity (client start + await)', bare));
  for (const r of results) {
    console.log(row(`chat turn, running conversation, through the gateway (${r.label})`, r.later));
    console.log(row(`chat turn, first message of a thread, through the gateway (${r.label})`, r.first));
  }
  console.log('');
  for (const r of results) {
    console.log(`chat p50 / bare p50 (${r.label}): running conversation ${(r.later.p50 / bare.p50).toFixed(2)}x, first message ${(r.first.p50 / bare.p50).toFixed(2)}x (goal <= 1.5x on the real server)`);
  }
  for (const r of results) console.log(`sustained chat rate, ${RATE_THREADS} threads, one message in flight each (${r.label}): ${r.rate.toFixed(1)} replies/s`);
} finally {
  await embedded.stop();
  await serverDb.drop();
  server.kill('SIGTERM');
}
