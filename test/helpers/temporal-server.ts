import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';

export const SEARCH_ATTRIBUTES = ['CaseId', 'ThreadId', 'UserId', 'CorrelationId', 'AgentType'];

/** The same flags `./temporal-dev.sh` uses (less persistence and the UI). */
export function devServerArgs(options: { port: number; headless?: boolean; dbFilename?: string }): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'error'];
  if (options.headless) args.push('--headless');
  if (options.dbFilename) {
    args.push('--db-filename', options.dbFilename);
    for (const p of ['journal_mode=WAL', 'synchronous=NORMAL', 'busy_timeout=5000']) args.push('--sqlite-pragma', p);
  }
  args.push(
    '--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000',
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
  );
  for (const name of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=Keyword`);
  return args;
}

/** `$TEMPORAL_CLI_PATH`, then `temporal` on PATH, then `$(go env GOPATH)/bin/temporal`. */
export function findTemporalCli(): string {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'temporal');
    if (dir && existsSync(candidate)) return candidate;
  }
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim();
    const candidate = join(gopath, 'bin', 'temporal');
    if (existsSync(candidate)) return candidate;
  } catch {
    // no Go either: the error below says what to do
  }
  throw new Error('no Temporal CLI found: run `./temporal-dev.sh install` (it builds one with Go), or set TEMPORAL_CLI_PATH');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}
