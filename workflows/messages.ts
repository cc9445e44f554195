/** Every Temporal signal, query and update definition (named `xxxSignal` / `xxxQuery`). */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BriefChange, DraftRequest, NewMessage, ResearchProgress } from './types.js';

/** The gateway tells a thread's conversation that a user message was stored. */
export const newMessageSignal = defineSignal<[NewMessage]>('newMessage');

/** Cancels the reply being written (not the conversation). */
export const cancelReplySignal = defineSignal('cancelReply');

export interface ConversationStatus {
  pending: number;
  answering: boolean;
  answeredTurn: number;
}

export const conversationStatusQuery = defineQuery<ConversationStatus>('conversationStatus');

/**
 * Which of the given user message ids this conversation has neither queued, nor is
 * answering, nor has answered: the redelivery job re-sends only those.
 */
export const unseenMessagesQuery = defineQuery<string[], [string[]]>('unseenMessages');

/**
 * The thread joined a case: the conversation tags its run with `CaseId` and passes the case
 * to every later run and child (the gateway sends it after committing the attach).
 */
export const caseAttachedSignal = defineSignal<[{ caseId: string }]>('caseAttached');

/**
 * A document waits for processing (uploaded, reprocessed, or a failed one submitted again):
 * sent with signal-with-start to `document-<documentId>`. A run that gets it after its first
 * step looks again once it ends, so a request that met a run as it was closing is not lost.
 */
export const documentRequestedSignal = defineSignal('documentRequested');
/** New evidence in the thread's case: the conversation's next turn runs step 3 again (its rules read evidence links). */
export const evidenceAddedSignal = defineSignal<[{ evidenceId: string }]>('evidenceAdded');

/** Something the case's brief is computed from changed: the brief's debounced workflow evolves it once quiet. */
export const briefChangedSignal = defineSignal<[BriefChange]>('briefChanged');

/** Cancels the evolution in progress (not the case's brief workflow), as `cancelReply` does for chat. */
export const cancelEvolutionSignal = defineSignal('cancelEvolution');

/**
 * A suggestion was accepted in a thread with no case: sent with signal-with-start to
 * `draft-case-<threadId>`, so a second acceptance joins the running draft, which starts every
 * agent accepted in its thread once the case exists (Decision 29).
 */
export const draftRequestedSignal = defineSignal<[DraftRequest]>('draftRequested');

/** Where a research run is (phase, round, counts, tokens): answered from its state. */
export const researchProgressQuery = defineQuery<ResearchProgress>('researchProgress');
