/**
 * `npm run api`: the gateway's composition root. Reads the config once, refuses to start
 * on a database whose schema is behind, connects to Temporal, serves, and shuts down
 * gracefully on SIGINT/SIGTERM (in-flight requests finish, then connections close).
 */
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { pino, type Logger } from 'pino';
import { createDb, type DbHandle } from '../activities/db/client.js';
import { assertSchemaCurrent } from '../activities/db/migrate.js';
import type { HandOffHooks } from '../activities/handoff.js';
import { createEmbedder } from '../activities/llm/index.js';
import { databaseUrl, loadConfig, type Config } from '../workers/config.js';
import { temporalConnectionOptions } from '../workers/temporal-connection.js';
import { buildApp } from './app.js';

/** A shutdown that takes longer than this is stuck: exit rather than hang the supervisor. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

async function openDatabase(config: Config, logger: Logger): Promise<DbHandle> {
  const handle = createDb(databaseUrl(config), {
    poolMax: config.database.poolMax,
    connectTimeoutS: config.database.connectTimeoutS,
    statementTimeoutMs: config.database.statementTimeoutMs,
  });
  try {
    await assertSchemaCurrent(handle.sql);
    return handle;
  } catch (err) {
    logger.fatal({ err }, `gateway not started: ${err instanceof Error ? err.message : String(err)}`);
    await handle.close().catch(() => {});
    process.exit(1);
  }
}

async function connectTemporal(config: Config, logger: Logger): Promise<{ connection: Connection; client: Client }> {
  const target = await temporalConnectionOptions(config);
  try {
    const connection = await Connection.connect(target.connectionOptions as ConnectionOptions);
    return { connection, client: new Client({ connection, namespace: target.namespace }) };
  } catch (err) {
    const where = target.connectionOptions.address ?? 'the configured address';
    logger.fatal({ err }, `gateway not started: cannot connect to Temporal at ${where} (is the dev server up?)`);
    process.exit(1);
  }
}

function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    setTimeout(() => {
      logger.error(`gateway did not stop within ${SHUTDOWN_TIMEOUT_MS} ms, exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    stop().then(
      () => {
        logger.info('gateway stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping the gateway');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * The gateway crash test (test/fault/idempotency-crash.test.ts) sets FAULT_EXIT_AFTER_COMMIT=1:
 * the process then kills itself the moment a route committed its effect, before the answer
 * is stored or sent. Read here only, never by the app; unset in every real deployment.
 */
function faultExitAfterCommit(): (() => void) | undefined {
  if (process.env.FAULT_EXIT_AFTER_COMMIT !== '1') return undefined;
  return () => process.kill(process.pid, 'SIGKILL');
}

/**
 * The hand-off crash test (test/fault/handoff-crash.test.ts) sets FAULT_EXIT_BEFORE_HANDOFF to
 * kinds of the shared hand-off (`message`, `document`, `evidence`, `agent-run`, comma-separated): the process
 * then kills itself once a route committed a row of such a kind, before its start or signal
 * (activities/handoff.ts `beforeHandOff`). Read here only; unset in every real deployment.
 */
function faultExitBeforeHandOff(): HandOffHooks | undefined {
  const kinds = new Set((process.env.FAULT_EXIT_BEFORE_HANDOFF ?? '').split(',').map((k) => k.trim()).filter(Boolean));
  if (kinds.size === 0) return undefined;
  return {
    beforeHandOff(kind) {
      if (kinds.has(kind)) process.kill(process.pid, 'SIGKILL');
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'gateway' } });
  const database = await openDatabase(config, logger);
  const temporal = await connectTemporal(config, logger);
  const app = await buildApp({
    db: database.db,
    sql: database.sql,
    temporal: temporal.client,
    // The worker's factory over the same config: query vectors compare with the stored ones.
    embedder: createEmbedder(config.llm),
    // The dev key is ensured by `npm run keys -- ensure-dev` (./temporal-dev.sh), never by a production gateway.
    config: {
      queues: config.queues,
      chat: config.chat,
      bodyLimitBytes: config.bodyLimitBytes,
      rateLimitPerMinute: config.rateLimitPerMinute,
      idempotency: { staleMs: config.idempotencyStaleMs, afterCommit: faultExitAfterCommit() },
      progress: { streamsPerUser: config.progressStreamsPerUser },
      search: config.search,
      documents: config.documents,
      evidence: config.evidence,
      brief: config.brief,
      maintenance: { timeZone: config.schedules.timeZone, signalMaintenance: config.signalMaintenance, housekeeping: config.housekeeping },
      handOff: faultExitBeforeHandOff(),
    },
    logger,
  });
  stopOnSignals(async () => {
    await app.close();
    await temporal.connection.close();
    await database.close();
  }, logger);
  await app.listen({ host: config.host, port: config.port });
}

main().catch((err: unknown) => {
  console.error(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
