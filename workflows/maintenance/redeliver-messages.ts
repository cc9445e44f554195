/**
 * The redelivery job (issue 11, defect 8; issue 16), started every minute by the schedule
 * `<prefix>chat-redelivery` (workers/schedules.ts): user messages still pending after
 * CHAT_REDELIVERY_AFTER_MS go back to the conversations that have not seen them. One activity
 * pages through every pending row; it stops starting pages at 80 % of the run's time limit, and
 * a run that stopped so hands its place to the schedule's next run through its result (Temporal
 * gives a scheduled run the last completed run's result). A system run: no user, no event; its
 * report is its result and the activity's logs.
 */
import { CancellationScope, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { chatRedelivery, TASK_TIME_LIMIT, TASK_TIME_LIMIT_MS } from '../policies.js';
import type { RedeliverMessagesInput, RedeliveryCursor, RedeliveryReport } from '../types.js';

const { redeliverPendingMessages } = proxyActivities<Activities>(chatRedelivery);

/** The share of the time limit in which pages may start; the rest lets the last one finish. */
const BUDGET_SHARE = 0.8;

/** Where the schedule's previous run stopped at its budget; none if it finished (or was older). */
function stoppedAt(previous: unknown): RedeliveryCursor | undefined {
  const report = previous as Partial<RedeliveryReport> | undefined;
  const cursor = report?.complete === false ? report.resumeAfter : undefined;
  return typeof cursor?.createdAt === 'string' && typeof cursor.seq === 'number' ? cursor : undefined;
}

export async function redeliverMessages(input: RedeliverMessagesInput): Promise<RedeliveryReport> {
  const stopBy = Date.now() + (input.timeLimitMs ?? TASK_TIME_LIMIT_MS) * BUDGET_SHARE;
  const resumeAfter = input.resumeAfter ?? stoppedAt(workflowInfo().lastResult);
  const report = await CancellationScope.withTimeout(input.timeLimitMs ?? TASK_TIME_LIMIT, () =>
    redeliverPendingMessages.executeWithOptions(
      { ...chatRedelivery, summary: 'Re-send pending user messages their conversation has not seen' },
      [{ queues: input.queues, pageSize: input.pageSize, resumeAfter, stopBy }],
    ),
  );
  log.info('chat redelivery finished', { ...report });
  return report;
}
