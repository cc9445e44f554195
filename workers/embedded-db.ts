/**
 * `npm run embedded-db`: the embedded PostgreSQL (PGlite served over the wire protocol) as
 * its own process, which `./temporal-dev.sh` starts when DATABASE_URL is unset. It listens
 * on 127.0.0.1:CASEWORK_EMBEDDED_PG_PORT and persists to `.casework/pgdata` (or
 * `--data-dir DIR`, which tests use for a throw-away folder).
 *
 * A connection that holds the one backend idle in a transaction longer than
 * EMBEDDED_PG_IDLE_IN_TRANSACTION_MS is terminated, so that the others are not blocked forever.
 *
 * SIGTERM/SIGINT stop it gracefully: the socket server closes, then PGlite closes, which
 * flushes its data to the folder. Only a clean close is guaranteed to keep the last writes.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../activities/db/embedded.js';
import { ConfigError, loadConfig } from './config.js';

const DEFAULT_DATA_DIR = '.casework/pgdata';
/** A stop that takes longer than this is stuck; exit non-zero rather than hang the caller. */
const STOP_TIMEOUT_MS = 15_000;

function parseDataDir(): string {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } }, allowPositionals: false });
  return resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);
}

function describeStartError(err: unknown, port: number, dataDir: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return `port ${port} is already in use (another embedded database or PostgreSQL?): stop it or set CASEWORK_EMBEDDED_PG_PORT`;
  }
  return `cannot start the embedded PostgreSQL on 127.0.0.1:${port} with data in ${dataDir}: ${err instanceof Error ? err.message : String(err)}`;
}

function stopOnSignals(server: EmbeddedPostgres): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    // A process-group kill can deliver the same signal twice (once direct, once relayed
    // by npm/tsx): the second must not cut the flush short.
    if (stopping) return;
    stopping = true;
    console.log(`embedded PostgreSQL: ${signal} received, closing connections and flushing data`);
    const timer = setTimeout(() => {
      console.error(`embedded PostgreSQL: did not stop within ${STOP_TIMEOUT_MS} ms, exiting`);
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    timer.unref();
    server.stop().then(
      () => {
        console.log('embedded PostgreSQL stopped');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`embedded PostgreSQL: error while stopping: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const port = config.database.embeddedPort;
  const dataDir = parseDataDir();
  mkdirSync(dirname(dataDir), { recursive: true });
  let server: EmbeddedPostgres;
  try {
    server = await startEmbeddedPostgres({
      dataDir,
      port,
      host: '127.0.0.1',
      maxConnections: 40,
      idleInTransactionMs: config.embeddedIdleInTransactionMs,
    });
  } catch (err) {
    console.error(describeStartError(err, port, dataDir));
    process.exit(1);
  }
  stopOnSignals(server);
  console.log(`embedded PostgreSQL ready on ${server.url} (data in ${dataDir})`);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : `embedded PostgreSQL: ${String(err)}`);
  process.exit(1);
});
