/**
 * Issue #8, end to end: the real worker and gateway processes on the embedded PostgreSQL
 * (run as its own child process, as `./temporal-dev.sh` runs it), whatever DATABASE_URL
 * says. A chat turn works through HTTP; the worker and the database restart on the same
 * data folder; the thread is still there and a second turn is answered.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runMigrations } from '../../activities/db/migrate.js';
import { embeddedDatabaseUrl } from '../../workers/config.js';
import { freePort } from '../helpers/temporal-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPLY_TIMEOUT_MS = 30_000;
/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW (@temporalio/proto is not a direct dependency). */
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const run = promisify(execFile);

interface Child {
  name: string;
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

interface Message {
  id: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: 'pending' | 'complete' | 'failed';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `node --import tsx SCRIPT`: one process (no npm/tsx wrapper), so SIGTERM reaches it. */
function startNode(name: string, script: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { name, proc, output: () => output, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
async function stopChild(child: Child | undefined, graceMs = 20_000): Promise<number | null> {
  if (!child) return null;
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return child.proc.exitCode;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it returns a value; fails early with the child's output if it exits. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, child?: Child): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.proc.exitCode !== null) {
      throw new Error(`${child.name} exited (${child.proc.exitCode}) before ${what}:\n${child.output()}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  const tail = child ? `\n${child.name} output:\n${child.output()}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${String(lastError)})${tail}`);
}

describe('the stack on the embedded database (child processes)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'casework-e2e-pg-'));
  const apiKey = `cw_test_${randomBytes(12).toString('hex')}`;
  const queuePrefix = `e2e-embedded-${randomBytes(4).toString('hex')}-`;
  const temporalAddress = inject('temporalAddress');
  let env: NodeJS.ProcessEnv;
  let baseUrl: string;
  let db: Child | undefined;
  let worker: Child | undefined;
  let api: Child | undefined;
  let threadId: string;

  function stackEnv(pgPort: number, apiPort: number): NodeJS.ProcessEnv {
    const e: NodeJS.ProcessEnv = {
      ...process.env,
      CASEWORK_EMBEDDED_PG_PORT: String(pgPort),
      TEMPORAL_ADDRESS: temporalAddress,
      CASEWORK_QUEUE_PREFIX: queuePrefix,
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      CASEWORK_DEV_API_KEY: apiKey,
      LLM_PROVIDER: 'local',
      EMBEDDING_PROVIDER: 'local',
      WORKER_SHUTDOWN_GRACE_MS: '2000',
      // The schedules live on the shared test server: only tests that delete them create them.
      CASEWORK_SCHEDULES: 'off',
      LOG_LEVEL: 'info',
    };
    // Unset DATABASE_URL means the embedded database on CASEWORK_EMBEDDED_PG_PORT.
    for (const name of ['DATABASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE', 'TEMPORAL_NAMESPACE']) {
      delete e[name];
    }
    return e;
  }

  async function startDatabase(): Promise<Child> {
    const child = startNode('embedded-db', 'workers/embedded-db.ts', ['--data-dir', dataDir], env);
    await waitFor('the embedded database', async () => (child.output().includes('ready') ? true : undefined), 60_000, child);
    return child;
  }

  async function http(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  }

  async function listMessages(): Promise<Message[] | undefined> {
    const res = await http('GET', `/v1/threads/${threadId}/messages`);
    return res.status === 200 ? (res.json as { messages: Message[] }).messages : undefined;
  }

  async function waitForCompleteReplies(count: number, timeoutMs: number): Promise<Message[]> {
    return waitFor(
      `${count} complete assistant replies`,
      async () => {
        const messages = await listMessages();
        const done = messages?.filter((m) => m.role === 'assistant' && m.status === 'complete') ?? [];
        return done.length >= count ? messages : undefined;
      },
      timeoutMs,
      worker,
    );
  }

  /** The worker is up once it polls the chat queue (its log wording is not a contract). */
  async function waitForWorkerPolling(): Promise<void> {
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      await waitFor(
        'the worker to poll the chat queue',
        async () => {
          const answer = await connection.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: `${queuePrefix}chat` },
            taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
          });
          return (answer.pollers?.length ?? 0) > 0 ? true : undefined;
        },
        90_000,
        worker,
      );
    } finally {
      await connection.close();
    }
  }

  beforeAll(async () => {
    const [pgPort, apiPort] = [await freePort(), await freePort()];
    env = stackEnv(pgPort, apiPort);
    baseUrl = `http://127.0.0.1:${apiPort}`;
    db = await startDatabase();
    await runMigrations(embeddedDatabaseUrl(pgPort));
    await run(process.execPath, ['--import', 'tsx', 'workers/keys.ts', 'ensure-dev'], { cwd: ROOT, env, timeout: 60_000 });
    worker = startNode('worker', 'workers/main.ts', [], env);
    api = startNode('api', 'api/server.ts', [], env);
    await waitFor('the gateway /readyz', async () => ((await http('GET', '/readyz')).status === 200 ? true : undefined), 90_000, api);
    await waitForWorkerPolling();
  });

  afterAll(async () => {
    await stopChild(api);
    await stopChild(worker);
    await stopChild(db);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers a chat message through the gateway', async () => {
    const created = await http('POST', '/v1/threads', { title: 'embedded end to end' });
    expect(created.status).toBe(201);
    threadId = (created.json as { id: string }).id;
    expect(threadId).toBeTruthy();

    const sent = await http('POST', `/v1/threads/${threadId}/messages`, { content: 'We must decide on a supplier by Friday.' });
    expect(sent.status).toBe(202);

    const messages = await waitForCompleteReplies(1, REPLY_TIMEOUT_MS);
    expect(messages.some((m) => m.role === 'user' && m.content.includes('supplier'))).toBe(true);
  });

  it('keeps the thread across a restart of the worker and the database, and answers again', async () => {
    expect(threadId, 'the first test created the thread').toBeTruthy();
    const before = (await listMessages()) ?? [];

    expect(await stopChild(worker)).toBe(0);
    // A clean stop flushes PGlite's data: exit code 0 says it closed properly.
    expect(await stopChild(db)).toBe(0);
    db = await startDatabase();
    worker = startNode('worker', 'workers/main.ts', [], env);

    // The gateway's pool reconnects on its own; poll until reads work again.
    const after = await waitFor('the thread through the gateway after the restart', listMessages, 30_000, api);
    expect(after.map((m) => m.id)).toEqual(before.map((m) => m.id));
    expect(after.map((m) => m.content)).toEqual(before.map((m) => m.content));

    // Temporal did not restart, so the signal goes through even before the worker polls.
    const sent = await http('POST', `/v1/threads/${threadId}/messages`, { content: 'What are the main risks?' });
    expect(sent.status).toBe(202);
    // The restarted worker bundles its workflows before it polls.
    await waitForCompleteReplies(2, 60_000 + REPLY_TIMEOUT_MS);
  }, 180_000);
});
