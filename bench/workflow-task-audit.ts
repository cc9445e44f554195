/**
 * The server's own record of workflow tasks that failed or timed out in a time window, read
 * from the histories of the workflows on some task queues. The worker's log says what the
 * worker noticed ("Task not found when completing"); the history says what happened (e.g. a
 * sticky queue's schedule-to-start timeout, or a task failed as UNHANDLED_COMMAND).
 */
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import type { Harness } from './harness.js';
import type { WorkflowTaskRow } from './scenario.js';

export interface WorkflowTaskAudit {
  workflowsRead: number;
  workflowTasksCompleted: number;
  /** e.g. `conversation timed out: SCHEDULE_TO_START` → 3, `conversation failed: UNHANDLED_COMMAND` → 1 */
  problems: Record<string, number>;
  /** The first few, as `<workflow id> +<seconds into the window>s` (to look them up in the Web UI or history). */
  examples: string[];
}

const TIMEOUT_TYPES: Record<number, string> = { 1: 'START_TO_CLOSE', 2: 'SCHEDULE_TO_START', 3: 'SCHEDULE_TO_CLOSE', 4: 'HEARTBEAT' };
const FAILED_CAUSES: Record<number, string> = {
  1: 'UNHANDLED_COMMAND', 13: 'RESET_STICKY_TASK_QUEUE', 14: 'WORKFLOW_WORKER_UNHANDLED_FAILURE',
  24: 'NON_DETERMINISTIC_ERROR', 31: 'UNHANDLED_UPDATE',
};
const READ_CONCURRENCY = 8;
const STICKY_KIND = 2; // TASK_QUEUE_KIND_STICKY

const visibilityTime = (d: Date) => d.toISOString();
type HistoryEvent = NonNullable<History['events']>[number];
const timeOf = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

export async function auditWorkflowTasks(client: Client, taskQueues: readonly string[], from: Date, to: Date): Promise<WorkflowTaskAudit> {
  const queues = taskQueues.map((q) => `TaskQueue = '${q}'`).join(' OR ');
  const query = `(${queues}) AND StartTime <= '${visibilityTime(to)}' AND (ExecutionStatus = 'Running' OR CloseTime >= '${visibilityTime(from)}')`;
  const runs: { workflowId: string; runId: string; type: string }[] = [];
  for await (const w of client.workflow.list({ query })) runs.push({ workflowId: w.workflowId, runId: w.runId, type: w.type });
  const audit: WorkflowTaskAudit = { workflowsRead: runs.length, workflowTasksCompleted: 0, problems: {}, examples: [] };
  const offset = (atMs: number) => `+${((atMs - from.getTime()) / 1000).toFixed(1)}s`;
  const note = (run: (typeof runs)[number], what: string, atMs: number, scheduledMs: number) => {
    const key = `${run.type} ${what}`;
    audit.problems[key] = (audit.problems[key] ?? 0) + 1;
    if (audit.examples.length < 5) audit.examples.push(`${key}: ${run.workflowId}, task scheduled ${offset(scheduledMs)}, ended ${offset(atMs)}`);
  };
  const inWindow = (atMs: number) => atMs >= from.getTime() && atMs <= to.getTime();
  let next = 0;
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, async () => {
    while (next < runs.length) {
      const run = runs[next++]!;
      const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      const events = history.events ?? [];
      const byId = new Map(events.map((e) => [Number(e.eventId), e]));
      for (const e of events) {
        const atMs = timeOf(e);
        if (!inWindow(atMs)) continue;
        if (e.workflowTaskCompletedEventAttributes) audit.workflowTasksCompleted++;
        const timedOut = e.workflowTaskTimedOutEventAttributes;
        if (timedOut) {
          // A sticky task that waited too long for the worker that cached the run is re-sent to the normal queue.
          const scheduled = byId.get(Number(timedOut.scheduledEventId));
          const sticky = scheduled?.workflowTaskScheduledEventAttributes?.taskQueue?.kind === STICKY_KIND ? ' on the sticky queue' : '';
          note(run, `timed out: ${TIMEOUT_TYPES[timedOut.timeoutType ?? 0] ?? `type ${timedOut.timeoutType}`}${sticky}`, atMs, scheduled ? timeOf(scheduled) : atMs);
        }
        const failed = e.workflowTaskFailedEventAttributes;
        if (failed) note(run, `failed: ${FAILED_CAUSES[failed.cause ?? 0] ?? `cause ${failed.cause}`}`, atMs, timeOf(byId.get(Number(failed.scheduledEventId)) ?? e));
      }
    }
  }));
  return audit;
}

/** Runs one phase and returns, next to its result, what went wrong in its workflow tasks. */
export async function watchWorkflowTasks<T>(
  harness: Harness, label: string, taskQueues: readonly string[], phase: () => Promise<T>,
): Promise<{ result: T; workflowTasks: WorkflowTaskRow }> {
  const logBefore = harness.sdkLog.snapshot();
  const from = new Date();
  const result = await phase();
  const to = new Date();
  const sdkLog = harness.sdkLog.since(logBefore);
  const audit = await auditWorkflowTasks(harness.client, taskQueues, from, to);
  return { result, workflowTasks: { label, sdkLog, audit } };
}
