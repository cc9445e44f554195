import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { queueNames } from '../../workers/config.js';
import type { QueueNames } from '../../workflows/types.js';

let runtimeInstalled = false;

/** Runtime.install may run once per process; tests log SDK warnings only. */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed by another helper in this process
  }
}

/** Connects to the run's one dev server (started by the global setup). */
export async function connectTestEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  return TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
}

/** A unique prefix per test file (or test), so files never share queues or workflow ids. */
export function uniqueId(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export function testQueues(label: string): QueueNames {
  return queueNames(`${uniqueId(label)}-`);
}
