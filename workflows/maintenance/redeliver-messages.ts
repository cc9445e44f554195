/**
 * The chat redelivery job (issue 11, defect 8), started every minute by the schedule
 * `<prefix>chat-redelivery` (workers/schedules.ts): user messages still pending after
 * CHAT_REDELIVERY_AFTER_MS go back to the conversations that have not seen them. A system
 * run: no user, no event; its report is its result and the activity's logs.
 */
import { CancellationScope, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { chatRedelivery, TASK_TIME_LIMIT } from '../policies.js';
import type { RedeliverMessagesInput, RedeliveryReport } from '../types.js';

const { redeliverPendingMessages } = proxyActivities<Activities>(chatRedelivery);

export async function redeliverMessages(input: RedeliverMessagesInput): Promise<RedeliveryReport> {
  const report = await CancellationScope.withTimeout(input.timeLimitMs ?? TASK_TIME_LIMIT, () =>
    redeliverPendingMessages.executeWithOptions(
      { ...chatRedelivery, summary: 'Re-send pending user messages their conversation has not seen' },
      [{ queues: input.queues, limit: input.limit }],
    ),
  );
  log.info('chat redelivery finished', { ...report });
  return report;
}
