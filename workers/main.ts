/** `npm run worker`: serves the task queues in WORKER_QUEUES with every workflow and activity. */
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createDb } from '../activities/db/client.js';
import { assertSchemaCurrent } from '../activities/db/migrate.js';
import { parseSettingsOf } from '../activities/documents/settings.js';
import { createEmbedder, createLlm } from '../activities/llm/index.js';
import { createParsePool } from '../activities/parse/pool.js';
import { createSafeFetcher } from '../activities/web/fetcher.js';
import { activityConfigOf, assertOpenAiConfigured, databaseUrl, loadConfig } from './config.js';
import { createPinoLogger, sdkLogger } from './logging.js';
import { upsertSchedules } from './schedules.js';
import { temporalConnectionOptions } from './temporal-connection.js';
import { bundleWorkflows, createWorkers, runWorkers } from './worker.js';

const config = loadConfig();
assertOpenAiConfigured(config);
const logger = createPinoLogger(config.logLevel, 'casework-worker');
Runtime.install({ logger: sdkLogger(logger) });

const database = createDb(databaseUrl(config), config.database);
try {
  await assertSchemaCurrent(database.sql);
} catch (err) {
  logger.fatal({ err }, 'refusing to start');
  await database.close();
  process.exit(1);
}

const { connectionOptions, namespace } = await temporalConnectionOptions(config);
const connection = await NativeConnection.connect(connectionOptions);
// Activities reach Temporal (signal-with-start, schedules) on the worker's own connection.
const temporal = new Client({ connection, namespace });
// One fetcher (one connection pool) for the process's URL ingestions; closed at shutdown.
const fetcher = createSafeFetcher(config.fetch);
// The threads that parse documents off the event loop (started on first need); closed at shutdown.
const parsePool = createParsePool(parseSettingsOf(config.documents));
const workers = await createWorkers({
  connection,
  namespace,
  queues: config.queues,
  kinds: config.workerQueues,
  activities: createActivities({
    db: database.db,
    llm: createLlm(config.llm),
    embedder: createEmbedder(config.llm),
    temporal,
    config: activityConfigOf(config),
    clock: () => new Date(),
    fetcher,
    parsePool,
  }),
  workflowBundle: await bundleWorkflows(),
  shutdownGraceMs: config.workerShutdownGraceMs,
});
logger.info({ queues: config.workerQueues.map((k) => config.queues[k]), llm: config.llm.provider }, 'worker started');
// Decision 25: the maintenance worker keeps the schedules current. A failure is logged, not
// fatal: serving the queues matters more, and `npm run schedules` can be run by hand.
if (config.schedules.enabled && config.workerQueues.includes('maintenance')) {
  try {
    const upserted = await temporal.withDeadline(Date.now() + 15_000, () => upsertSchedules(temporal, config));
    logger.info({ schedules: upserted }, 'schedules created or updated');
  } catch (err) {
    logger.error({ err }, 'could not create or update the schedules: run `npm run schedules`');
  }
}
try {
  await runWorkers(workers);
} finally {
  await fetcher.close();
  await parsePool.close();
  await connection.close();
  await database.close();
  logger.info('worker stopped');
}
