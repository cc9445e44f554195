/**
 * A PostgreSQL a test owns, so it may take it down and bring it back (DESIGN.md Decision 8):
 * a throw-away Debian cluster (`pg_createcluster VERSION NAME -p PORT -- --auth=trust`,
 * `pg_ctlcluster --skip-systemctl-redirect`; `initdb` and `pg_ctl` refuse root) when
 * `pg_createcluster` exists, else the embedded server as a child process on a throw-away
 * data folder. Never the shared server. CASEWORK_FAULT_DB=cluster|embedded forces one.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { startNode, stopChild, waitFor, type Child } from './child-process.js';
import { freePort } from './temporal-server.js';

const run = promisify(execFile);
const CLUSTER_COMMAND_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 60_000;

export interface OwnedPostgres {
  kind: 'cluster' | 'embedded';
  url: string;
  port: number;
  /** Takes the server away: `pg_ctlcluster stop -m immediate`, or SIGTERM of the embedded child. */
  stop(): Promise<void>;
  /** Brings it back on the same data and port, and waits until it answers. */
  start(): Promise<void>;
  /** Drops the cluster (or stops the child) and deletes its data; safe to call twice. */
  destroy(): Promise<void>;
  describe(): string;
}

function clusterVersion(): string | undefined {
  if (!existsSync('/usr/bin/pg_createcluster') || !existsSync('/etc/postgresql')) return undefined;
  const versions = readdirSync('/etc/postgresql').filter((v) => /^\d+(\.\d+)?$/.test(v));
  return versions.sort((a, b) => Number(a) - Number(b)).at(-1);
}

export async function createOwnedPostgres(): Promise<OwnedPostgres> {
  const forced = process.env.CASEWORK_FAULT_DB;
  const version = clusterVersion();
  if (forced === 'cluster' && !version) throw new Error('CASEWORK_FAULT_DB=cluster, but pg_createcluster or /etc/postgresql is missing');
  return version && forced !== 'embedded' ? createCluster(version) : createEmbeddedChild();
}

async function waitUntilAnswers(url: string, what: string, child?: Child): Promise<void> {
  await waitFor(
    what,
    async () => {
      const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await sql`select 1`;
        return true;
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
    READY_TIMEOUT_MS,
    child,
  );
}

async function pgCommand(command: string, args: string[]): Promise<void> {
  try {
    await run(command, args, { timeout: CLUSTER_COMMAND_TIMEOUT_MS });
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

async function createCluster(version: string): Promise<OwnedPostgres> {
  const name = `casework_fault_${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ctl = (...args: string[]) => pgCommand('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, ...args]);
  let dropped = false;
  await pgCommand('pg_createcluster', [version, name, '-p', String(port), '--', '--auth=trust']);
  const owned: OwnedPostgres = {
    kind: 'cluster',
    url,
    port,
    stop: () => ctl('stop', '-m', 'immediate'),
    async start() {
      await ctl('start');
      await waitUntilAnswers(url, `cluster ${version}/${name} to answer`);
    },
    async destroy() {
      if (dropped) return;
      dropped = true;
      await pgCommand('pg_dropcluster', ['--stop', version, name]);
    },
    describe: () => `throw-away cluster ${version}/${name} on port ${port}`,
  };
  try {
    await owned.start();
  } catch (err) {
    await owned.destroy().catch(() => {});
    throw err;
  }
  return owned;
}

async function createEmbeddedChild(): Promise<OwnedPostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), 'casework-fault-pg-'));
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const env: NodeJS.ProcessEnv = { ...process.env, CASEWORK_EMBEDDED_PG_PORT: String(port) };
  delete env.DATABASE_URL;
  let child: Child | undefined;
  let destroyed = false;
  const owned: OwnedPostgres = {
    kind: 'embedded',
    url,
    port,
    // SIGTERM, not SIGKILL: PGlite keeps its last writes only when it closes cleanly, and
    // the test needs the messages stored before the outage.
    async stop() {
      await stopChild(child);
      child = undefined;
    },
    async start() {
      const started = startNode('embedded-db', 'workers/embedded-db.ts', ['--data-dir', dataDir], env);
      child = started;
      await waitFor('the embedded database', async () => (started.output().includes('ready') ? true : undefined), READY_TIMEOUT_MS, started);
      await waitUntilAnswers(url, 'the embedded database to answer', started);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
    describe: () => `embedded database child on port ${port} (data in ${dataDir})`,
  };
  try {
    await owned.start();
  } catch (err) {
    await owned.destroy();
    throw err;
  }
  return owned;
}
