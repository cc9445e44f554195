/**
 * What every scenario shares in one run: one tuned dev server (notes/temporal-sdk.md §11),
 * the workflow bundle, the SDK log counter, a client, and the two databases (a throw-away
 * database on the PostgreSQL server and the embedded one), created on first use.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Runtime, type WorkflowBundle } from '@temporalio/worker';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../activities/db/embedded.js';
import { runMigrations } from '../activities/db/migrate.js';
import { bundleWorkflows } from '../workers/worker.js';
import { devServerArgs, findTemporalCli, freePort, waitForTemporal } from '../test/helpers/temporal-server.js';
import { installCountingSdkLogger, type SdkLogCounter } from './sdk-log.js';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  label: 'postgres' | 'embedded';
  /** Migrated, empty at the start of the run. */
  url: string;
}

export interface Harness {
  address: string;
  bundle: WorkflowBundle;
  sdkLog: SdkLogCounter;
  /** For starting bare workflows and reading histories. */
  client: Client;
  databases(): Promise<BenchDatabase[]>;
  stop(): Promise<void>;
}

/** A database of its own on the server, so a run never sees another run's rows. */
async function throwAwayServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
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

async function startDatabases(cleanups: (() => Promise<void>)[]): Promise<BenchDatabase[]> {
  const server = await throwAwayServerDatabase();
  cleanups.push(server.drop);
  const embedded = await startEmbeddedPostgres({ port: 0 });
  cleanups.push(embedded.stop);
  const databases: BenchDatabase[] = [{ label: 'postgres', url: server.url }, { label: 'embedded', url: embedded.url }];
  for (const d of databases) await runMigrations(d.url);
  return databases;
}

export async function startHarness(): Promise<Harness> {
  const sdkLog = installCountingSdkLogger();
  const port = await freePort();
  const server = spawn(findTemporalCli(), devServerArgs({ port, headless: true }), { stdio: 'ignore' });
  const cleanups: (() => Promise<void>)[] = [
    // Last: a runtime no native connection or worker ever used (the extract scenario's) keeps
    // forwarding logs, and with them the process, alive.
    () => Runtime.instance().shutdown(),
    async () => void server.kill('SIGTERM'),
  ];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error('bench cleanup:', err));
  };
  try {
    const address = `127.0.0.1:${port}`;
    await waitForTemporal(address, 30_000);
    const client = new Client({ connection: await Connection.connect({ address }) });
    cleanups.push(() => client.connection.close());
    const bundle = await bundleWorkflows(fileURLToPath(new URL('./workflows.ts', import.meta.url)));
    let databases: Promise<BenchDatabase[]> | undefined;
    return { address, bundle, sdkLog, client, databases: () => (databases ??= startDatabases(cleanups)), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
