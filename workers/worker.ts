/** Builds the Temporal workers: one per task queue this process serves, same bundle and activities. */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { Activities } from '../activities/index.js';
import { activityLogContext } from './activity-log-context.js';
import type { QueueKind } from './config.js';
import type { QueueNames } from '../workflows/types.js';

export const defaultWorkflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export async function bundleWorkflows(workflowsPath = defaultWorkflowsPath): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return { code };
}

const quietBundlerLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
  log: () => {},
};

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  queues: QueueNames;
  kinds: readonly QueueKind[];
  activities: Activities;
  workflowBundle: WorkflowBundle;
  shutdownGraceMs: number;
}

/**
 * A chat turn keeps its workflow task open while its local activities run, so with the
 * default 40 workflow-task slots a burst of 50 conversations left tasks waiting on the
 * sticky queue until its 10 s schedule-to-start timeout (measured by the bench: 11-13 of
 * 50 lanes idle for 10 s). More slots, and a short sticky timeout as the backstop.
 */
const CHAT_TUNING = {
  maxConcurrentWorkflowTaskExecutions: 200,
  maxConcurrentLocalActivityExecutions: 200,
  stickyQueueScheduleToStartTimeout: '1 second',
} as const;

export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  return Promise.all(
    setup.kinds.map((kind) =>
      Worker.create({
        connection: setup.connection,
        namespace: setup.namespace,
        taskQueue: setup.queues[kind],
        workflowBundle: setup.workflowBundle,
        activities: setup.activities,
        shutdownGraceTime: setup.shutdownGraceMs,
        interceptors: { activity: [activityLogContext] },
        // Chat turns run many short local activities; research is long and few.
        maxConcurrentActivityTaskExecutions: kind === 'research' ? 10 : 100,
        ...(kind === 'chat' ? CHAT_TUNING : {}),
      }),
    ),
  );
}

/** Runs the workers until they are shut down (by signal or `shutdown()`). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
