/**
 * The worker the URL fault test runs as a child process (`node --import tsx
 * test/fault/url-worker-process.ts`): the real workers, activities and fetcher on the usual
 * environment (TEMPORAL_ADDRESS, DATABASE_URL, CASEWORK_QUEUE_PREFIX, FETCH_*: the test
 * allowlists its loopback site there), as workers/main.ts builds them, with the workflow
 * bundle read from FAULT_WORKFLOW_BUNDLE (the test writes it once). It prints
 * `fault-worker ready` once its workers run.
 */
import { readFileSync, writeSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { createDb } from '../../activities/db/client.js';
import { createEmbedder, createLlm } from '../../activities/llm/index.js';
import { createSafeFetcher } from '../../activities/web/fetcher.js';
import { activityConfigOf, databaseUrl, loadConfig } from '../../workers/config.js';
import { temporalConnectionOptions } from '../../workers/temporal-connection.js';
import { createWorkers, runWorkers } from '../../workers/worker.js';

const say = (line: string) => writeSync(1, `${line}\n`);
const bundlePath = process.env.FAULT_WORKFLOW_BUNDLE;
if (!bundlePath) throw new Error('FAULT_WORKFLOW_BUNDLE must name the bundle file the test wrote');
const config = loadConfig();
Runtime.install({ logger: new DefaultLogger('WARN') });
const database = createDb(databaseUrl(config), config.database);
const { connectionOptions, namespace } = await temporalConnectionOptions(config);
const connection = await NativeConnection.connect(connectionOptions);
const fetcher = createSafeFetcher(config.fetch);
const workers = await createWorkers({
  connection,
  namespace,
  queues: config.queues,
  kinds: config.workerQueues,
  activities: createActivities({
    db: database.db,
    llm: createLlm(config.llm),
    embedder: createEmbedder(config.llm),
    temporal: new Client({ connection, namespace }),
    config: activityConfigOf(config),
    clock: () => new Date(),
    fetcher,
  }),
  workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
  shutdownGraceMs: config.workerShutdownGraceMs,
});
const running = runWorkers(workers);
say(`fault-worker ready pid=${process.pid}`);
try {
  await running;
} finally {
  await fetcher.close();
  await connection.close();
  await database.close();
  say('fault-worker stopped');
}
