/**
 * A Temporal dev server a test owns, so it may kill it (DESIGN.md Decision 8): the same
 * flags as the run's shared server, persisted to a SQLite file in a temp folder, so a
 * restart on the same file and port finds every workflow again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killChild, startProcess, type Child } from './child-process.js';
import { devServerArgs, findTemporalCli, freePort, waitForTemporal } from './temporal-server.js';

const START_TIMEOUT_MS = 60_000;
/** A graceful stop longer than this is not going to finish: kill it. */
const STOP_GRACE_MS = 20_000;

export interface OwnedTemporal {
  address: string;
  /** Ends the server with this signal (SIGKILL after a grace period) and waits for the exit. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
  /** Starts it again on the same file and port, and waits until it answers. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function createOwnedTemporal(): Promise<OwnedTemporal> {
  const cli = findTemporalCli();
  const dir = mkdtempSync(join(tmpdir(), 'casework-fault-temporal-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = devServerArgs({ port, headless: true, dbFilename: join(dir, 'temporal.db') });
  let server: Child | undefined;
  let starts = 0;
  const owned: OwnedTemporal = {
    address,
    async kill(signal) {
      const current = server;
      if (!current?.alive()) return current?.proc.exitCode ?? null;
      current.proc.kill(signal);
      const timer = setTimeout(() => current.proc.kill('SIGKILL'), STOP_GRACE_MS);
      try {
        return await current.exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async start() {
      const started = startProcess(`temporal dev server #${++starts}`, cli, args, process.env);
      server = started;
      try {
        await waitForTemporal(address, START_TIMEOUT_MS);
      } catch (err) {
        throw new Error(`${String(err)}\n${started.output().slice(-3000)}`);
      }
    },
    async destroy() {
      await killChild(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await owned.start();
  } catch (err) {
    await owned.destroy();
    throw err;
  }
  return owned;
}
