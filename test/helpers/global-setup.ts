/**
 * Starts ONE Temporal dev server for the whole test run (or uses TEMPORAL_ADDRESS), with
 * casework's search attributes and the two dynamic-config values that make each activity
 * dispatch 3-5x faster (notes/temporal-sdk.md §11). Test files connect to it. Beside it, the
 * production workflows are bundled once for the run (~2.5 s of CPU each time, and some forty
 * files run workers) into a file every test file's workers load (`testBundle`, `faultBundleFile`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflows } from '../../workers/worker.js';
import { findTemporalCli, freePort, waitForTemporal, devServerArgs } from './temporal-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The production workflows' bundle, written once for the run. */
    workflowBundlePath: string;
  }
}

let server: ChildProcess | undefined;

/** The production bundle in a file of its own directory (removed at the end of the run). */
async function writeProductionBundle(): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'casework-bundle-'));
  const bundle = await bundleWorkflows();
  if (!('code' in bundle)) throw new Error('expected a bundle with code');
  const path = join(dir, 'workflows.js');
  await writeFile(path, bundle.code);
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bundle = await writeProductionBundle();
  project.provide('workflowBundlePath', bundle.path);
  const stopServer = await startServer(project);
  return async () => {
    await stopServer();
    await bundle.remove();
  };
}

async function startServer(project: TestProject): Promise<() => Promise<void>> {
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
