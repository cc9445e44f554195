/** casework's workflows plus the bare baseline: a workflow with one no-op activity. */
import { proxyActivities } from '@temporalio/workflow';

export * from '../workflows/index.js';

const { benchNoop } = proxyActivities<{ benchNoop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

export async function oneNoopActivity(): Promise<void> {
  await benchNoop();
}
