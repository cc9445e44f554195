/**
 * Child processes a test owns (DESIGN.md Decision 8): started as `node --import tsx SCRIPT`
 * (one process, no npm/tsx wrapper, so a signal reaches it), their output kept for the
 * failure message, and stopped by their own pid, never by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEEP_OUTPUT_CHARS = 40_000;

export interface Child {
  name: string;
  proc: ChildProcess;
  /** The last output (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  alive(): boolean;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Children still running when this process exits (a crashed test) are killed by pid. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of live) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
});

export function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-KEEP_OUTPUT_CHARS));
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => resolve(code));
    proc.once('error', (err) => {
      keep(Buffer.from(`\n[spawn error] ${String(err)}\n`));
      resolve(null);
    });
  });
  return { name, proc, output: () => output, exited, alive: () => proc.exitCode === null && proc.signalCode === null };
}

/** `node --import tsx SCRIPT ARGS` from the repository root. */
export function startNode(name: string, script: string, args: string[], env: NodeJS.ProcessEnv): Child {
  return startProcess(name, process.execPath, ['--import', 'tsx', script, ...args], env);
}

/** SIGKILL, and wait until the process is gone. */
export async function killChild(child: Child | undefined): Promise<void> {
  if (!child?.alive()) return;
  child.proc.kill('SIGKILL');
  await child.exited;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
export async function stopChild(child: Child | undefined, graceMs = 15_000): Promise<number | null> {
  if (!child) return null;
  if (!child.alive()) return child.proc.exitCode;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it returns a value; fails early, with the child's output, if it exits. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, child?: Child): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && !child.alive()) {
      throw new Error(`${child.name} exited (${child.proc.exitCode ?? child.proc.signalCode}) before ${what}:\n${child.output()}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  const tail = child ? `\n${child.name} output:\n${child.output()}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${String(lastError)})${tail}`);
}

/** Resolves true when the child exits within `ms`, false otherwise. */
export async function exitsWithin(child: Child, ms: number): Promise<boolean> {
  if (!child.alive()) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([child.exited.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
