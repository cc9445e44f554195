/**
 * What every fault test file sets up: a database (its own, or one on DATABASE_URL as the
 * other suites use), a Temporal client, unique queues, one user, and the worker as a child
 * process (test/fault/worker-process.ts) that the test kills and restarts. Messages are
 * sent through the real hand-off (test/helpers/chat.ts `sendMessage`).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { createDb, type Db } from '../../activities/db/client.js';
import { runMigrations } from '../../activities/db/migrate.js';
import type { MessageRow } from '../../activities/db/schema/index.js';
import { queueNames } from '../../workers/config.js';
import type { ConversationInput, QueueNames } from '../../workflows/types.js';
import { seedThread, seedUser, sendMessage } from '../helpers/chat.js';
import { killChild, startNode, stopChild, waitFor, type Child } from '../helpers/child-process.js';
import { createTestDatabase } from '../helpers/database.js';
import { testBundle } from '../helpers/stack.js';
import { uniqueId } from '../helpers/temporal.js';

/** The first start bundles the workflows (tens of seconds on two busy cores); later ones reuse it. */
const WORKER_READY_TIMEOUT_MS = 150_000;

export type Faults = Partial<
  Record<
    | 'FAULT_REPLY_DELAY_MS' | 'FAULT_KILL_DURING_REPLY' | 'FAULT_KILL_DELAY_MS' | 'FAULT_KILL_AFTER_REPLY_COMMIT' | 'FAULT_SEED'
    | 'FAULT_KILL_AFTER_EVIDENCE_MODEL' | 'FAULT_KILL_AFTER_EVIDENCE_COMMIT' | 'FAULT_KILL_AFTER_EVIDENCE_TELL'
    | 'FAULT_KILL_AFTER_BRIEF_MODEL' | 'FAULT_KILL_AFTER_BRIEF_COMMIT',
    number
  >
>;

export interface FaultStackOptions {
  label: string;
  temporalAddress: string;
  /** A database the test owns (already running); default: a fresh test database. */
  databaseUrl?: string;
  /** Extra environment of the worker child (CHAT_REDELIVERY_AFTER_MS, ...). */
  workerEnv?: NodeJS.ProcessEnv;
}

export interface FaultStack {
  db: Db;
  client: Client;
  queues: QueueNames;
  userId: string;
  /** Threads of the stack's user; a title means no title child is started after a reply. */
  newThreads(count: number, title?: string): Promise<string[]>;
  send(threadId: string, content: string, extra?: Partial<ConversationInput>): Promise<MessageRow>;
  /** Starts a worker child (stopping none): resolves once it polls. */
  startWorker(faults?: Faults): Promise<Child>;
  worker(): Child | undefined;
  /** kill -9 of the current worker child. */
  killWorker(): Promise<void>;
  /** SIGTERM of the current worker child (a clean shutdown). */
  stopWorker(): Promise<void>;
  /** Every worker child's output so far (for failure messages and the report). */
  workerLog(): string;
  close(): Promise<void>;
}

/** The child's environment: the usual config keys only, no key or profile from the caller. */
function childEnv(o: FaultStackOptions, databaseUrl: string, prefix: string, bundlePath: string, faults: Faults): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: o.temporalAddress,
    DATABASE_URL: databaseUrl,
    CASEWORK_QUEUE_PREFIX: prefix,
    CASEWORK_SCHEDULES: 'off',
    LLM_PROVIDER: 'local',
    EMBEDDING_PROVIDER: 'local',
    WORKER_SHUTDOWN_GRACE_MS: '1000',
    LOG_LEVEL: 'warn',
    FAULT_WORKFLOW_BUNDLE: bundlePath,
    ...o.workerEnv,
  };
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE', 'TEMPORAL_NAMESPACE']) {
    delete env[name];
  }
  for (const name of Object.keys(env)) if (name.startsWith('FAULT_') && name !== 'FAULT_WORKFLOW_BUNDLE') delete env[name];
  for (const [name, value] of Object.entries(faults)) if (value !== undefined) env[name] = String(value);
  return env;
}

export async function startFaultStack(o: FaultStackOptions): Promise<FaultStack> {
  const prefix = `${uniqueId(`fault-${o.label}`)}-`;
  const queues = queueNames(prefix);
  const cleanups: (() => Promise<unknown>)[] = [];
  let current: Child | undefined;
  const logs: string[] = [];
  let starts = 0;
  try {
    let db: Db;
    let databaseUrl: string;
    if (o.databaseUrl) {
      databaseUrl = o.databaseUrl;
      await runMigrations(databaseUrl);
      const handle = createDb(databaseUrl, { poolMax: 10, connectTimeoutS: 3 });
      cleanups.unshift(() => handle.close());
      db = handle.db;
    } else {
      const database = await createTestDatabase();
      cleanups.unshift(() => database.drop());
      databaseUrl = database.url;
      db = database.db;
    }
    const connection = await Connection.connect({ address: o.temporalAddress });
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection });
    const user = await seedUser(db);
    const bundlePath = inject('workflowBundlePath');

    const collect = (child: Child) => logs.push(`--- ${child.name} ---\n${child.output()}`);
    return {
      db,
      client,
      queues,
      userId: user.id,
      async newThreads(count, title) {
        const threads = await Promise.all(Array.from({ length: count }, () => seedThread(db, user.id, title ?? null)));
        return threads.map((t) => t.id);
      },
      send: (threadId, content, extra) => sendMessage({ db, client, queues, threadId, userId: user.id, extra }, content),
      async startWorker(faults = {}) {
        const child = startNode(`worker #${++starts}`, 'test/fault/worker-process.ts', [], childEnv(o, databaseUrl, prefix, bundlePath, faults));
        void child.exited.then(() => collect(child));
        current = child;
        await waitFor(`${child.name} to be ready`, async () => (child.output().includes('fault-worker ready') ? true : undefined), WORKER_READY_TIMEOUT_MS, child);
        return child;
      },
      worker: () => current,
      killWorker: () => killChild(current),
      async stopWorker() {
        await stopChild(current, 10_000);
      },
      workerLog: () => [...logs, ...(current?.alive() ? [`--- ${current.name} (running) ---\n${current.output()}`] : [])].join('\n'),
      async close() {
        await stopChild(current, 5_000);
        if (process.env.FAULT_SHOW_WORKER_LOG) console.log(`[fault stack ${o.label}] worker output:\n${logs.join('\n')}`);
        for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.warn(`fault stack cleanup: ${String(err)}`));
      },
    };
  } catch (err) {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    throw err;
  }
}

/** Sends `sizes[i]` messages to thread i, in order within a thread, all threads at once. */
export async function sendBursts(
  stack: FaultStack,
  threadIds: string[],
  sizes: number[],
  label: string,
  extra?: Partial<ConversationInput>,
): Promise<string[]> {
  const sent = await Promise.all(
    threadIds.map(async (threadId, i) => {
      const ids: string[] = [];
      const size = sizes[i] ?? 1;
      for (let k = 1; k <= size; k++) {
        const m = await stack.send(threadId, `${label}, thread ${i + 1}, message ${k} of ${size}: we must decide on a supplier by Friday.`, extra);
        ids.push(m.id);
      }
      return ids;
    }),
  );
  return sent.flat();
}

/** Lines of the worker children's output that record an injected fault. */
export const faultLines = (log: string) => log.split('\n').filter((l) => l.startsWith('fault: '));

/** The file of the workflow bundle the fault workers load (FAULT_WORKFLOW_BUNDLE): production's, the run's one (global setup); a fixture entry's, written here. */
export async function faultBundleFile(label: string, workflowsPath?: string): Promise<string> {
  if (!workflowsPath) return inject('workflowBundlePath');
  const path = join(tmpdir(), `${uniqueId(`casework-${label}-bundle`)}.js`);
  const bundle = await testBundle(workflowsPath);
  if (!('code' in bundle)) throw new Error('expected a bundle with code');
  writeFileSync(path, bundle.code);
  return path;
}

export interface AgentsWorkerOptions {
  name: string;
  stack: FaultStack;
  temporalAddress: string;
  databaseUrl: string;
  bundlePath: string;
  /** FAULT_HOLD_AFTER: the activities (`name:ms`) after whose commit the worker waits, to be killed there. */
  holds?: string;
  /** The pipeline's own settings (the model provider included). */
  env: Record<string, string>;
  /** Settings of this machine's environment the worker must not see. */
  unset?: string[];
  readyMs?: number;
  /** The test's started children (stopped in its afterAll): the worker joins them before it is awaited. */
  children: Child[];
}

/**
 * A worker process for the agent pipelines' fault tests (test/fault/agents-worker-process.ts) on
 * the stack's queues, with no schedules, quiet logs, a short shutdown grace and quick briefs;
 * resolves once it says it is ready.
 */
export async function startAgentsWorker(o: AgentsWorkerOptions): Promise<Child> {
  const prefix = o.stack.queues.chat.slice(0, -'chat'.length);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: o.temporalAddress, DATABASE_URL: o.databaseUrl, CASEWORK_QUEUE_PREFIX: prefix, CASEWORK_SCHEDULES: 'off',
    LOG_LEVEL: 'warn', FAULT_WORKFLOW_BUNDLE: o.bundlePath, WORKER_SHUTDOWN_GRACE_MS: '1000',
    BRIEF_DEBOUNCE_MS: '200', BRIEF_MAX_WAIT_MS: '1000', BRIEF_IDLE_CLOSE_MS: '2000',
    ...o.env,
  };
  for (const name of ['TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_NAMESPACE', 'FAULT_HOLD_AFTER', ...(o.unset ?? [])]) delete env[name];
  if (o.holds) env.FAULT_HOLD_AFTER = o.holds;
  const child = startNode(o.name, 'test/fault/agents-worker-process.ts', [], env);
  o.children.push(child);
  await waitFor(`${child.name} to be ready`, async () => (child.output().includes('fault-worker ready') ? true : undefined), o.readyMs ?? 150_000, child);
  return child;
}
