/**
 * Starts ONE Temporal dev server for the whole test run (or uses TEMPORAL_ADDRESS), with
 * casework's search attributes and the two dynamic-config values that make each activity
 * dispatch 3-5x faster (notes/temporal-sdk.md §11). Test files connect to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { findTemporalCli, freePort, waitForTemporal, devServerArgs } from './temporal-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let server: ChildProcess | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TEMPORAL_ADDRESS;
  if (given) {
    await waitForTemporal(given, 10_000);
    project.provide('temporalAddress', given);
    return async () => {};
  }
  const cli = findTemporalCli();
  const port = await freePort();
  server = spawn(cli, devServerArgs({ port, headless: true }), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(address, 30_000);
  } catch (err) {
    server.kill('SIGKILL');
    throw new Error(`the Temporal dev server did not start: ${String(err)}\n${stderr.slice(-2000)}`);
  }
  project.provide('temporalAddress', address);
  return async () => {
    server?.kill('SIGTERM');
  };
}
