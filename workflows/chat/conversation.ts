/**
 * One long-lived workflow per thread (`chat-<threadId>`, DESIGN.md Decision 1), fed by
 * signal-with-start from the gateway. It answers the thread's messages in order, one reply
 * at a time; a burst that arrives during a reply is answered together in the next one.
 * It continues as new when the server suggests it or every 100 replies, and closes after
 * an idle hour (the next message starts a new run with the same id).
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { cancelReplySignal, conversationStatusQuery, newMessageSignal } from '../messages.js';
import { CONVERSATION_IDLE_TIMEOUT_MS, CONVERSATION_MAX_TURNS_PER_RUN } from '../policies.js';
import type { ConversationInput, ConversationState, NewMessage } from '../types.js';
import { afterReply, assistantResponse, type Turn } from './assistant-response.js';

/** How many answered message ids a run remembers, to ignore a re-sent signal. */
const REMEMBERED_MESSAGES = 200;

function initialState(): ConversationState {
  return { answeredTurn: 0, turnsSinceExtraction: 0, charsSinceExtraction: 0, hasTitle: false, recentMessageIds: [] };
}

export async function conversation(input: ConversationInput): Promise<void> {
  const pending: NewMessage[] = [...(input.pending ?? [])];
  const state = input.state ?? initialState();
  let answering: CancellationScope | undefined;
  let repliesThisRun = 0;

  const known = (id: string) => state.recentMessageIds.includes(id) || pending.some((p) => p.messageId === id);
  setHandler(newMessageSignal, (message) => {
    if (!known(message.messageId)) pending.push(message);
  });
  setHandler(cancelReplySignal, () => answering?.cancel());
  setHandler(conversationStatusQuery, () => ({
    pending: pending.length,
    answering: answering !== undefined,
    answeredTurn: state.answeredTurn,
  }));

  for (;;) {
    const woke = await condition(() => pending.length > 0, input.idleTimeoutMs ?? CONVERSATION_IDLE_TIMEOUT_MS);
    if (!woke) return;
    const batch = pending.splice(0).sort((a, b) => a.turn - b.turn);
    // A fresh run does not know the turns answered before it; the first batch tells it.
    if (state.answeredTurn === 0) state.answeredTurn = Math.max(0, (batch[0]?.turn ?? 1) - 1);
    const turn: Turn = { input, state, batch, degradations: [] };
    answering = new CancellationScope();
    const reply = await answering.run(() => assistantResponse(turn)).finally(() => (answering = undefined));
    state.answeredTurn = Math.max(state.answeredTurn, ...batch.map((m) => m.turn));
    state.recentMessageIds = [...state.recentMessageIds, ...batch.map((m) => m.messageId)].slice(-REMEMBERED_MESSAGES);
    // A reply that lost a race with a cancel is not followed by steps 5-6.
    if (reply?.status === 'complete') {
      await afterReply(turn, reply);
      state.hasTitle = state.hasTitle || reply.hasTitle;
    }
    repliesThisRun++;
    const maxTurns = input.maxTurnsPerRun ?? CONVERSATION_MAX_TURNS_PER_RUN;
    if (workflowInfo().continueAsNewSuggested || repliesThisRun >= maxTurns) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof conversation>({ ...input, pending: pending.splice(0), state });
    }
  }
}
