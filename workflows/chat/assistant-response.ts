/**
 * The seed's `assistant_response_workflow`, as a function the thread's conversation runs
 * for each batch of user messages: steps 1-4 here (5, 6 and the title in ./after-reply.ts),
 * each a local activity with a summary, so one conversation run reads as the chat in the
 * Web UI. Steps 1-3 are best effort; step 4 (the reply) is critical and, if it finally
 * fails, the batch is settled as failed, never left pending.
 */
import { CancellationScope, isCancellation, log, patched, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { AGENT_CATALOG, suggestableAgents } from '../agents/catalog.js';
import { chatBestEffortStep, chatBookkeeping, chatReplyStep } from '../policies.js';
import type { ConversationInput, ConversationState, Degradation, NewMessage, ReplyResult, SettleResult } from '../types.js';
import { bestEffort, failureMessage } from './best-effort.js';
import { startAccepted } from './dispatch.js';
import { holdThroughOutage, newHold, type OutageHold } from '../outage-hold.js';
import { CHAT_PATCHES } from './patches.js';

const optional = proxyLocalActivities<Activities>(chatBestEffortStep);
const critical = proxyLocalActivities<Activities>(chatReplyStep);
const bookkeeping = proxyLocalActivities<Activities>(chatBookkeeping);

/** Agent inflection is checked every this many user turns. */
export const INFLECTION_EVERY_TURNS = 3;

export interface Turn {
  input: ConversationInput;
  state: ConversationState;
  /** The user messages this turn answers, in turn order. */
  batch: NewMessage[];
  degradations: Degradation[];
  /** Shared by the steps of this turn (Decision 28). */
  hold: OutageHold;
  /** The turn's number within this run (1, 2, ...): its row in the run's progress log. */
  number: number;
}

/** What a turn settled: `reply` is null when the reply failed (the batch is then failed). */
export interface TurnOutcome {
  reply: ReplyResult | null;
  /** Ids no longer waiting for an answer; the rest go back to the redelivery job. */
  settled: string[];
}

export const idsOf = (turn: Turn) => turn.batch.map((m) => m.messageId);
export const lastIdOf = (turn: Turn) => turn.batch[turn.batch.length - 1]?.messageId ?? '';
const lastTurnOf = (turn: Turn) => Math.max(...turn.batch.map((m) => m.turn));

/** The multiple of 3 this batch crossed, if any (a burst may skip over one). */
export function inflectionCheckpoint(answeredTurn: number, lastTurn: number): number | null {
  const checkpoint = Math.floor(lastTurn / INFLECTION_EVERY_TURNS) * INFLECTION_EVERY_TURNS;
  return checkpoint > answeredTurn && checkpoint > 0 ? checkpoint : null;
}

/** Step 1: only while a suggestion may be waiting for a "yes". */
async function confirmAgent(turn: Turn): Promise<void> {
  const confirmation = await holdThroughOutage(turn.hold, 'agent-confirmation', () =>
    optional.checkAgentConfirmation.executeWithOptions(
      { ...chatBestEffortStep, summary: 'Step 1: is the user confirming a suggested agent?' },
      [{ threadId: turn.input.threadId, messageIds: idsOf(turn) }],
    ),
  );
  if (confirmation) await startAccepted(turn.input, turn.hold, confirmation);
}

/**
 * Step 2: only when the catalog has an agent to suggest. The static catalog held none before
 * the research agent: conversations recorded before it never ran this step and replay as they
 * ran (fixture catalogs come through input, in tests only, and always had their agents).
 */
async function detectInflection(turn: Turn, checkpoint: number): Promise<void> {
  const agents = suggestableAgents(turn.input.agents ?? AGENT_CATALOG).map(({ type, description, cues }) => ({ type, description, cues }));
  if (agents.length === 0) return;
  if (!turn.input.agents && !patched(CHAT_PATCHES.suggestResearch)) return;
  const { suggested } = await holdThroughOutage(turn.hold, 'agent-inflection', () =>
    optional.detectAgentInflection.executeWithOptions(
      { ...chatBestEffortStep, summary: `Step 2: would an agent help? (turn ${checkpoint})` },
      [{ threadId: turn.input.threadId, checkpoint, agents, uptoMessageId: lastIdOf(turn) }],
    ),
  );
  if (suggested) turn.state.suggestionPending = true;
}

/** Step 3: only while the rules may find something (a new signal or evidence, or one more to post). */
async function intervene(turn: Turn): Promise<void> {
  const { state } = turn;
  if (state.interventionsIdle === true && patched(CHAT_PATCHES.interveneOnlyOnNewSignals)) return;
  // The evidence handler sets it (behind its patch: older runs never carry the field), maybe while the rules run.
  const evidenceArrived = () => state.evidenceArrived === true;
  if (evidenceArrived()) state.evidenceArrived = false;
  const { posted } = await holdThroughOutage(turn.hold, 'proactive-intervention', () =>
    optional.proactiveIntervention.executeWithOptions(
      { ...chatBestEffortStep, summary: 'Step 3: proactive intervention rules' },
      [{ threadId: turn.input.threadId, messageId: lastIdOf(turn) }],
    ),
  );
  // Evidence that arrived while the rules ran may not have been linked when they read: look again.
  state.interventionsIdle = posted === null && !evidenceArrived();
}

/**
 * The ids a settle reported. Results recorded before settles reported them (a replayed
 * older run) carry none: that code settled the whole batch.
 */
function settledIds(turn: Turn, result: Partial<SettleResult> | undefined): string[] {
  if (!result?.answered) return idsOf(turn);
  return [...result.answered, ...(result.skipped ?? [])];
}

/** Steps 1-4. */
export async function assistantResponse(turn: Turn): Promise<TurnOutcome> {
  if (turn.state.suggestionPending !== false || !patched(CHAT_PATCHES.confirmOnlyWhenSuggested)) {
    await bestEffort('agent-confirmation', turn.degradations, () => confirmAgent(turn));
  }
  const checkpoint = inflectionCheckpoint(turn.state.answeredTurn, lastTurnOf(turn));
  if (checkpoint !== null) {
    await bestEffort('agent-inflection', turn.degradations, () => detectInflection(turn, checkpoint));
  }
  await bestEffort('proactive-intervention', turn.degradations, () => intervene(turn));
  try {
    const reply = await holdThroughOutage(turn.hold, 'reply', () =>
      critical.generateReply.executeWithOptions(
        { ...chatReplyStep, summary: `Step 4: reply to ${turn.batch.length} message(s)` },
        [{ threadId: turn.input.threadId, messageIds: idsOf(turn), degradations: turn.degradations, progressSeq: turn.number }],
      ),
    );
    turn.state.suggestionPending = reply.suggestionPending || turn.state.suggestionPending === true;
    return { reply, settled: settledIds(turn, reply) };
  } catch (err) {
    const error = isCancellation(err) ? 'cancelled' : failureMessage(err);
    return { reply: null, settled: await CancellationScope.nonCancellable(() => settleAsFailed(turn, error)) };
  }
}

/**
 * The reply failed for good (or was cancelled): settle the batch as failed. If even that
 * cannot be written, the conversation goes on: the messages stay pending and, unknown to
 * this run, the redelivery job sends them again (so one message never fails a thread).
 */
async function settleAsFailed(turn: Turn, error: string): Promise<string[]> {
  try {
    const settled = await holdThroughOutage(newHold(turn.hold.holdMs), 'fail-reply', () =>
      bookkeeping.failReply.executeWithOptions(
        { ...chatBookkeeping, summary: 'Mark the reply failed' },
        [{ threadId: turn.input.threadId, messageIds: idsOf(turn), error, progressSeq: turn.number }],
      ),
    );
    return settledIds(turn, settled);
  } catch (err) {
    log.error('could not settle a failed reply: left to redelivery', { messageIds: idsOf(turn), error: failureMessage(err) });
    return [];
  }
}
