/** casework's workflows plus the bare baselines: workflows of one and six no-op activities, and of sleeping ones. */
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

const { benchSleep } = proxyActivities<{ benchSleep(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The research scenario's floor: `steps` activities that each wait as long as a faked model call, one after the other. */
export async function sleepingActivities(steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await benchSleep();
}
