/**
 * One long-lived workflow per thread (`chat-<threadId>`, DESIGN.md Decision 1), fed by
 * signal-with-start. It answers the thread's messages in order, one reply at a time; a
 * burst that arrives during a reply is answered together in the next one. It continues
 * as new when the server suggests it or every 100 replies, and closes after an idle hour
 * (the next message starts a new run with the same id).
 *
 * What it guarantees: every message id that enters a batch ends settled by exactly one
 * reply (the activities settle by claiming the messages, so a retried task is a no-op for
 * what it settled before), or, if even the failure cannot be written, is forgotten here so
 * the redelivery job sends it again. Continue-as-new and closing happen only in a workflow
 * task that ran no local activity: a message that arrives during such a task makes the
 * server reject it, and the retried task carries the message over instead of losing it.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { cancelReplySignal, caseAttachedSignal, conversationStatusQuery, evidenceAddedSignal, newMessageSignal, unseenMessagesQuery } from '../messages.js';
import { caseIdKey } from '../search-attributes.js';
import { CONVERSATION_IDLE_TIMEOUT_MS, CONVERSATION_MAX_TURNS_PER_RUN } from '../policies.js';
import type { ConversationInput, ConversationState, NewMessage } from '../types.js';
import { afterReply } from './after-reply.js';
import { CHAT_PATCHES } from './patches.js';
import { assistantResponse, type Turn } from './assistant-response.js';
import { newHold } from '../outage-hold.js';

/** How many settled message ids a run remembers, to ignore a re-sent signal. */
const REMEMBERED_MESSAGES = 200;

function initialState(): ConversationState {
  return { answeredTurn: 0, turnsSinceExtraction: 0, charsSinceExtraction: 0, hasTitle: false, recentMessageIds: [] };
}

export async function conversation(initialInput: ConversationInput): Promise<void> {
  // A copy: attaching the thread to a case changes what later turns, children and runs get.
  const input: ConversationInput = { ...initialInput };
  const pending: NewMessage[] = [...(input.pending ?? [])];
  const state = input.state ?? initialState();
  let answering: CancellationScope | undefined;
  let inFlight: NewMessage[] = [];
  let repliesThisRun = 0;

  const seen = (id: string) =>
    state.recentMessageIds.includes(id) || pending.some((p) => p.messageId === id) || inFlight.some((m) => m.messageId === id);
  setHandler(newMessageSignal, (message) => {
    if (!seen(message.messageId)) pending.push(message);
  });
  setHandler(cancelReplySignal, () => answering?.cancel());
  const joinCase = (caseId: string) => {
    if (input.caseId === caseId) return;
    input.caseId = caseId;
    // The rules read the thread's signals, which now carry the case: look again.
    state.interventionsIdle = false;
    upsertSearchAttributes([{ key: caseIdKey, value: caseId }]);
  };
  setHandler(caseAttachedSignal, ({ caseId }) => joinCase(caseId));
  setHandler(evidenceAddedSignal, () => {
    // Runs recorded before step 3 read evidence got this signal and did nothing: they replay so.
    if (!patched(CHAT_PATCHES.evidenceReachesInterventions)) return;
    state.interventionsIdle = false;
    state.evidenceArrived = true;
  });
  setHandler(unseenMessagesQuery, (ids) => ids.filter((id) => !seen(id)));
  setHandler(conversationStatusQuery, () => ({
    pending: pending.length,
    answering: answering !== undefined,
    answeredTurn: state.answeredTurn,
  }));

  for (;;) {
    const woke = await condition(() => pending.length > 0, input.idleTimeoutMs ?? CONVERSATION_IDLE_TIMEOUT_MS);
    if (!woke && pending.length === 0) return;
    inFlight = pending.splice(0).sort((a, b) => a.turn - b.turn);
    // A fresh run does not know the turns answered before it; the first batch tells it.
    if (state.answeredTurn === 0) state.answeredTurn = Math.max(0, (inFlight[0]?.turn ?? 1) - 1);
    const turn: Turn = { input, state, batch: inFlight, degradations: [], hold: newHold(input.outageHoldMs), number: repliesThisRun + 1 };
    answering = new CancellationScope();
    const outcome = await answering.run(() => assistantResponse(turn)).finally(() => (answering = undefined));
    // A run started by a message stored just before the thread joined a case learns it here.
    if (outcome.reply?.caseId) joinCase(outcome.reply.caseId);
    state.answeredTurn = Math.max(state.answeredTurn, ...inFlight.map((m) => m.turn));
    state.recentMessageIds = [...state.recentMessageIds, ...outcome.settled].slice(-REMEMBERED_MESSAGES);
    // A reply that lost a race with a cancel is not followed by steps 5-6.
    if (outcome.reply?.status === 'complete') {
      await afterReply(turn, outcome.reply);
      state.hasTitle = state.hasTitle || outcome.reply.hasTitle;
    }
    inFlight = [];
    repliesThisRun++;
    if (workflowInfo().continueAsNewSuggested || repliesThisRun >= (input.maxTurnsPerRun ?? CONVERSATION_MAX_TURNS_PER_RUN)) {
      // End this task (it ran local activities) before continuing as new in a fresh one.
      // Runs recorded before this rule continued as new at once: they replay as they ran.
      if (patched(CHAT_PATCHES.continueAsNewInOwnTask)) await sleep(1);
      await condition(allHandlersFinished);
      return continueAsNew<typeof conversation>({ ...input, pending: pending.splice(0), state });
    }
  }
}
