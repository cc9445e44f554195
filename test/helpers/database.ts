/**
 * Each test file owns its database. With DATABASE_URL set (CI: the local server) it is a
 * fresh database on that server, dropped afterwards; without, an embedded PostgreSQL in
 * this process on a free port (one embedded server cannot isolate files: it ignores the
 * database name and shares one session).
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDb, type DbHandle } from '../../activities/db/client.js';
import { startEmbeddedPostgres } from '../../activities/db/embedded.js';
import { runMigrations } from '../../activities/db/migrate.js';

export interface TestDatabase extends DbHandle {
  url: string;
  kind: 'server' | 'embedded';
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  return serverUrl ? createOnServer(serverUrl) : createEmbedded();
}

async function createOnServer(serverUrl: string): Promise<TestDatabase> {
  const name = `casework_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (err) {
    await admin.end();
    throw new Error(`cannot create a test database on DATABASE_URL (${redact(serverUrl)}): ${String(err)}`);
  }
  const url = withDatabase(serverUrl, name);
  await runMigrations(url);
  const handle = createDb(url, { poolMax: 10 });
  return {
    ...handle,
    url,
    kind: 'server',
    async drop() {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

async function createEmbedded(): Promise<TestDatabase> {
  const embedded = await startEmbeddedPostgres({ port: 0 });
  await runMigrations(embedded.url);
  const handle = createDb(embedded.url, { poolMax: 5 });
  return {
    ...handle,
    url: embedded.url,
    kind: 'embedded',
    async drop() {
      await handle.close();
      await embedded.stop();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
