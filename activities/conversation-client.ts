/**
 * Signal-with-start of a thread's conversation (`chat-<threadId>`): the one way a user
 * message reaches its workflow, used by the gateway's hand-off and by the redelivery job.
 * Repeating it is safe: the conversation ignores message ids it already knows.
 */
import type { Client } from '@temporalio/client';
import { newMessageSignal } from '../workflows/messages.js';
import { CONVERSATION_TASK_TIMEOUT } from '../workflows/policies.js';
import { searchAttributes } from '../workflows/search-attributes.js';
import { workflowIds, type ConversationInput, type NewMessage, type QueueNames } from '../workflows/types.js';

export interface ConversationTarget {
  threadId: string;
  userId: string;
  caseId: string | null;
}

export interface SignalOptions {
  /** Test-only knobs of the conversation's input (short idle timeout, turns per run). */
  overrides?: Partial<ConversationInput>;
  /** Absolute deadline (ms since epoch) of the call. */
  deadline: number;
}

export async function signalConversation(
  temporal: Client,
  queues: QueueNames,
  target: ConversationTarget,
  message: NewMessage,
  options: SignalOptions,
): Promise<string> {
  const { threadId, userId, caseId } = target;
  const workflowId = workflowIds.conversation(threadId);
  const input: ConversationInput = { threadId, userId, caseId: caseId ?? undefined, queues, ...options.overrides };
  await temporal.withDeadline(options.deadline, () =>
    temporal.workflow.signalWithStart('conversation', {
      workflowId,
      taskQueue: queues.chat,
      args: [input],
      signal: newMessageSignal,
      signalArgs: [message],
      typedSearchAttributes: searchAttributes({ userId, threadId, caseId }),
      staticSummary: `Conversation of thread ${threadId}`,
      workflowTaskTimeout: CONVERSATION_TASK_TIMEOUT,
    }),
  );
  return workflowId;
}
