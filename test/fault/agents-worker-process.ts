/**
 * The worker the agents fault test runs as a child process (`node --import tsx
 * test/fault/agents-worker-process.ts`): the real workers and activities on the usual
 * environment (TEMPORAL_ADDRESS, DATABASE_URL, CASEWORK_QUEUE_PREFIX, SIGNAL_EXTRACTION_*...),
 * the workflow bundle read from FAULT_WORKFLOW_BUNDLE (the test writes it: the production
 * workflows and the fixture agent), and one fault: FAULT_HOLD_AFTER=`activity:ms,...` makes each
 * named activity wait that long after it returned (its work committed), so a kill lands between
 * a commit and its report. It prints `fault-worker ready` once its workers run.
 */
import { readFileSync, writeSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities/index.js';
import { createDb } from '../../activities/db/client.js';
import { createEmbedder, createLlm } from '../../activities/llm/index.js';
import { activityConfigOf, databaseUrl, loadConfig } from '../../workers/config.js';
import { temporalConnectionOptions } from '../../workers/temporal-connection.js';
import { createWorkers, runWorkers } from '../../workers/worker.js';

const say = (line: string) => writeSync(1, `${line}\n`);
const bundlePath = process.env.FAULT_WORKFLOW_BUNDLE;
if (!bundlePath) throw new Error('FAULT_WORKFLOW_BUNDLE must name the bundle file the test wrote');
const holds = new Map((process.env.FAULT_HOLD_AFTER ?? '').split(',').filter(Boolean).map((pair) => {
  const [name, ms] = pair.split(':');
  return [name!, Number(ms)] as const;
}));

function withHolds(acts: Activities): Activities {
  const wrapped: Record<string, unknown> = { ...acts };
  for (const [name, ms] of holds) {
    const fn = acts[name as keyof Activities] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      const result = await fn(...args);
      say(`fault: ${name} committed, holding ${ms} ms before it reports`);
      await new Promise((r) => setTimeout(r, ms));
      return result;
    };
  }
  return wrapped as Activities;
}

const config = loadConfig();
Runtime.install({ logger: new DefaultLogger('WARN') });
const database = createDb(databaseUrl(config), config.database);
const { connectionOptions, namespace } = await temporalConnectionOptions(config);
const connection = await NativeConnection.connect(connectionOptions);
const workers = await createWorkers({
  connection,
  namespace,
  queues: config.queues,
  kinds: config.workerQueues,
  activities: withHolds(createActivities({
    db: database.db,
    llm: createLlm(config.llm),
    embedder: createEmbedder(config.llm),
    temporal: new Client({ connection, namespace }),
    config: activityConfigOf(config),
    clock: () => new Date(),
  })),
  workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
  shutdownGraceMs: config.workerShutdownGraceMs,
});
const running = runWorkers(workers);
say(`fault-worker ready pid=${process.pid}`);
try {
  await running;
} finally {
  await connection.close();
  await database.close();
  say('fault-worker stopped');
}
