/**
 * What every fault test's worker process is (worker-process.ts and its siblings, each run as
 * `node --import tsx test/fault/<name>.ts`): the production workers (workers/worker.ts) and
 * activities, built as workers/main.ts builds them, on the usual environment (TEMPORAL_ADDRESS,
 * DATABASE_URL, CASEWORK_QUEUE_PREFIX, ...), with the workflow bundle of FAULT_WORKFLOW_BUNDLE.
 * A fault file changes parts by wrapping them (the model, the embedder, the activities), never
 * by changing how they work. It prints `fault-worker ready` once its workers run and
 * `fault-worker stopped` when they stop.
 */
import { readFileSync, writeSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities/index.js';
import { createDb } from '../../activities/db/client.js';
import { createEmbedder, createLlm } from '../../activities/llm/index.js';
import type { Llm } from '../../activities/llm/llm.js';
import type { Embedder } from '../../activities/llm/types.js';
import { createSafeFetcher } from '../../activities/web/fetcher.js';
import { activityConfigOf, databaseUrl, loadConfig } from '../../workers/config.js';
import { temporalConnectionOptions } from '../../workers/temporal-connection.js';
import { createWorkers, runWorkers } from '../../workers/worker.js';

/** A line on stdout, written at once (the test reads it; a SIGKILL must not lose it). */
export const say = (line: string) => writeSync(1, `${line}\n`);

/** What a fault file wraps: each part as production builds it, in; the part with its faults, out. */
export interface FaultParts {
  llm?: (llm: Llm) => Llm;
  embedder?: (embedder: Embedder) => Embedder;
  activities?: (acts: Activities) => Activities;
}

/** Runs the workers until they are stopped (SIGTERM) or the process is killed. */
export async function runFaultWorker(parts: FaultParts = {}): Promise<void> {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const database = createDb(databaseUrl(config), config.database);
  const { connectionOptions, namespace } = await temporalConnectionOptions(config);
  const connection = await NativeConnection.connect(connectionOptions);
  const fetcher = createSafeFetcher(config.fetch);
  const activities = createActivities({
    db: database.db,
    llm: (parts.llm ?? same)(createLlm(config.llm)),
    embedder: (parts.embedder ?? same)(createEmbedder(config.llm)),
    temporal: new Client({ connection, namespace }),
    config: activityConfigOf(config),
    clock: () => new Date(),
    fetcher,
  });
  const workers = await createWorkers({
    connection,
    namespace,
    queues: config.queues,
    kinds: config.workerQueues,
    activities: (parts.activities ?? same)(activities),
    workflowBundle: workflowBundle(),
    shutdownGraceMs: config.workerShutdownGraceMs,
  });
  const running = runWorkers(workers);
  say(`fault-worker ready pid=${process.pid} queues=${config.workerQueues.map((k) => config.queues[k]).join(',')}`);
  try {
    await running;
  } finally {
    await fetcher.close();
    await connection.close();
    await database.close();
    say('fault-worker stopped');
  }
}

const same = <T>(part: T): T => part;

/** FAULT_WORKFLOW_BUNDLE: the file the test run wrote (production's workflows, once a run) or the test did (a fixture entry's: `faultBundleFile`). */
function workflowBundle(): WorkflowBundle {
  const path = process.env.FAULT_WORKFLOW_BUNDLE;
  if (!path) throw new Error('FAULT_WORKFLOW_BUNDLE must name the workflow bundle file');
  return { code: readFileSync(path, 'utf8') };
}
