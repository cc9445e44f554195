/** Builds the Temporal workers: one per task queue this process serves, same bundle and activities. */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions, type WorkflowBundle } from '@temporalio/worker';
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

/**
 * Research runs few, long activities (model calls, page fetches), so its queue takes ten at a
 * time. Each waiting activity poll holds one of those slots, and an activity is handed over
 * eagerly (with the workflow task that scheduled it, without a trip through the task queue)
 * only when a slot is free: the default ten pollers held all ten, and every research phase
 * waited 3-4 ms more in the queue (`npm run bench -- research`). Two pollers keep eight free.
 */
const RESEARCH_TUNING = {
  maxConcurrentActivityTaskExecutions: 10,
  activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 2 },
} as const;

/** The other queues: many short activities (ingestion, maintenance); the default ten pollers leave 90 slots free. */
const DEFAULT_TUNING = { maxConcurrentActivityTaskExecutions: 100 } as const;

/** What a queue's worker is tuned with, beyond the options every worker shares. */
export function tuningFor(kind: QueueKind): Partial<WorkerOptions> {
  if (kind === 'chat') return { ...DEFAULT_TUNING, ...CHAT_TUNING };
  if (kind === 'research') return RESEARCH_TUNING;
  return DEFAULT_TUNING;
}

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
        ...tuningFor(kind),
      }),
    ),
  );
}

/** Runs the workers until they are shut down (by signal or `shutdown()`). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
