/**
 * The seed's `assistant_response_workflow`, as a function the thread's conversation runs
 * for each batch of user messages: six steps, each a local activity with a summary, so one
 * conversation run reads as the chat in the Web UI. Steps 1-3, 5, 6 are best effort; step 4
 * (the reply) is critical and, if it finally fails, is marked failed, never left pending.
 */
import {
  CancellationScope,
  isCancellation,
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
  WorkflowIdReusePolicy,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import type { Confirmation } from '../../activities/chat-suggestions.js';
import { canDraftStructure, describeAgents, resolveAgent, STRUCTURE_AGENT_TYPE } from '../agents/registry.js';
import { chatBestEffortStep, chatBookkeeping, chatReplyStep } from '../policies.js';
import { searchAttributes } from '../search-attributes.js';
import type { AgentDispatchInput, ConversationInput, ConversationState, Degradation, NewMessage, ReplyResult } from '../types.js';
import { workflowIds } from '../types.js';
import { bestEffort, failureMessage } from './best-effort.js';

const optional = proxyLocalActivities<Activities>(chatBestEffortStep);
const critical = proxyLocalActivities<Activities>(chatReplyStep);
const bookkeeping = proxyLocalActivities<Activities>(chatBookkeeping);

/** Signal extraction waits until this much has accumulated (the seed's batching). */
export const EXTRACTION_MIN_TURNS = 2;
export const EXTRACTION_MIN_CHARS = 30;
/** Agent inflection is checked every this many user turns. */
export const INFLECTION_EVERY_TURNS = 3;

export interface Turn {
  input: ConversationInput;
  state: ConversationState;
  batch: NewMessage[];
  degradations: Degradation[];
}

const idsOf = (turn: Turn) => turn.batch.map((m) => m.messageId);
const lastTurnOf = (turn: Turn) => Math.max(...turn.batch.map((m) => m.turn));

/** The multiple of 3 this batch crossed, if any (a burst may skip over one). */
export function inflectionCheckpoint(answeredTurn: number, lastTurn: number): number | null {
  const checkpoint = Math.floor(lastTurn / INFLECTION_EVERY_TURNS) * INFLECTION_EVERY_TURNS;
  return checkpoint > answeredTurn && checkpoint > 0 ? checkpoint : null;
}

/** Starts a child that outlives the conversation; one that already runs is left alone. */
export async function startDetached(workflowType: string, options: ChildWorkflowOptions & { args: unknown[] }): Promise<void> {
  try {
    await startChild(workflowType, { parentClosePolicy: ParentClosePolicy.ABANDON, ...options });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

async function dispatch(turn: Turn, confirmation: Confirmation): Promise<void> {
  const descriptor = resolveAgent(confirmation.kind === 'structure' ? STRUCTURE_AGENT_TYPE : confirmation.agentType);
  if (!descriptor) throw new Error(`no workflow is registered for agent type "${confirmation.agentType}"`);
  const args: AgentDispatchInput = {
    userId: confirmation.userId,
    threadId: turn.input.threadId,
    caseId: confirmation.caseId ?? undefined,
    suggestionId: confirmation.suggestionId,
    agentType: descriptor.type,
    correlationId: confirmation.suggestionId,
    queues: turn.input.queues,
  };
  await startDetached(descriptor.workflowType, {
    workflowId: confirmation.workflowId,
    taskQueue: turn.input.queues[descriptor.queue],
    args: [args],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `${descriptor.type} agent, accepted in thread ${turn.input.threadId}`,
    typedSearchAttributes: searchAttributes({ ...args, agentType: descriptor.type }),
  });
}

async function confirmAgent(turn: Turn): Promise<void> {
  const confirmation = await optional.checkAgentConfirmation.executeWithOptions(
    { ...chatBestEffortStep, summary: 'Step 1: is the user confirming a suggested agent?' },
    [{ threadId: turn.input.threadId, messageIds: idsOf(turn) }],
  );
  if (confirmation) await dispatch(turn, confirmation);
}

async function detectInflection(turn: Turn, checkpoint: number): Promise<void> {
  const agents = describeAgents()
    .filter((a) => a.type !== STRUCTURE_AGENT_TYPE)
    .map(({ type, description, cues }) => ({ type, description, cues }));
  if (agents.length === 0) return;
  await optional.detectAgentInflection.executeWithOptions(
    { ...chatBestEffortStep, summary: `Step 2: would an agent help? (turn ${checkpoint})` },
    [{ threadId: turn.input.threadId, checkpoint, agents }],
  );
}

/** Steps 1-4. Returns null when the reply failed (it is then marked failed). */
export async function assistantResponse(turn: Turn): Promise<ReplyResult | null> {
  const { threadId } = turn.input;
  await bestEffort('agent-confirmation', turn.degradations, () => confirmAgent(turn));
  const checkpoint = inflectionCheckpoint(turn.state.answeredTurn, lastTurnOf(turn));
  if (checkpoint !== null) {
    await bestEffort('agent-inflection', turn.degradations, () => detectInflection(turn, checkpoint));
  }
  await bestEffort('proactive-intervention', turn.degradations, () =>
    optional.proactiveIntervention.executeWithOptions(
      { ...chatBestEffortStep, summary: 'Step 3: proactive intervention rules' },
      [{ threadId, messageId: idsOf(turn)[idsOf(turn).length - 1] ?? '' }],
    ),
  );
  try {
    return await critical.generateReply.executeWithOptions(
      { ...chatReplyStep, summary: `Step 4: reply to ${turn.batch.length} message(s)` },
      [{ threadId, messageIds: idsOf(turn), degradations: turn.degradations }],
    );
  } catch (err) {
    const error = isCancellation(err) ? 'cancelled' : failureMessage(err);
    await CancellationScope.nonCancellable(() =>
      bookkeeping.failReply.executeWithOptions(
        { ...chatBookkeeping, summary: 'Mark the reply failed' },
        [{ threadId, messageIds: idsOf(turn), error }],
      ),
    );
    return null;
  }
}

/** Steps 5 and 6 and the title: after the reply is stored, so they never delay it. */
export async function afterReply(turn: Turn, reply: ReplyResult): Promise<void> {
  const { threadId, queues } = turn.input;
  const { state } = turn;
  const after: Degradation[] = [];
  state.turnsSinceExtraction += turn.batch.length;
  state.charsSinceExtraction += turn.batch.reduce((n, m) => n + m.chars, 0);
  if (state.turnsSinceExtraction >= EXTRACTION_MIN_TURNS || state.charsSinceExtraction >= EXTRACTION_MIN_CHARS) {
    await bestEffort('signal-extraction', after, async () => {
      const { signalIds, cursor } = await optional.extractThreadSignals.executeWithOptions(
        { ...chatBestEffortStep, summary: 'Step 5: extract signals from the new messages' },
        [{ threadId, uptoMessageId: idsOf(turn)[idsOf(turn).length - 1] ?? '' }],
      );
      state.turnsSinceExtraction = 0;
      state.charsSinceExtraction = 0;
      if (signalIds.length === 0) return;
      await startDetached('generateSignalEmbeddings', {
        workflowId: workflowIds.signalEmbeddings(threadId, String(cursor)),
        taskQueue: queues.ingest,
        args: [{ signalIds, threadId }],
        staticSummary: `Embed ${signalIds.length} new signal(s) of thread ${threadId}`,
        typedSearchAttributes: searchAttributes({ threadId, userId: turn.input.userId, caseId: turn.input.caseId }),
      });
    });
  }
  if (canDraftStructure()) {
    await bestEffort('structure-readiness', after, () =>
      optional.detectStructureReadiness.executeWithOptions(
        { ...chatBestEffortStep, summary: 'Step 6: is the thread ready for a case structure?' },
        [{ threadId }],
      ),
    );
  }
  if (!reply.hasTitle) {
    await bestEffort('title', after, () =>
      startDetached('generateChatTitle', {
        workflowId: workflowIds.chatTitle(threadId),
        args: [{ threadId }],
        staticSummary: `Title for thread ${threadId}`,
        typedSearchAttributes: searchAttributes({ threadId, userId: turn.input.userId, caseId: turn.input.caseId }),
      }),
    );
  }
  if (after.length > 0) {
    await bestEffort('record-degradations', [], () =>
      optional.recordDegradations.executeWithOptions(
        { ...chatBestEffortStep, summary: 'Record the optional steps that failed' },
        [{ replyId: reply.replyId, degradations: after }],
      ),
    );
  }
}
