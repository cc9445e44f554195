/** casework's workflows plus the bare baselines: workflows of one and six no-op activities. */
import { proxyActivities } from '@temporalio/workflow';

export * from '../workflows/index.js';

const { benchNoop } = proxyActivities<{ benchNoop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

export async function oneNoopActivity(): Promise<void> {
  await benchNoop();
}

/** The shape of a chat turn's step count, without any of its work. */
export async function sixNoopActivities(): Promise<void> {
  for (let i = 0; i < 6; i++) await benchNoop();
}
