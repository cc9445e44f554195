/**
 * Steps 5 and 6 and the title: after the reply is stored, so they never delay it. All
 * best effort; what degrades is added to the reply's metadata.
 */
import { ApplicationFailure, patched, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { AGENT_CATALOG, canDraftStructure } from '../agents/catalog.js';
import { chatBestEffortStep } from '../policies.js';
import { searchAttributes } from '../search-attributes.js';
import type { Degradation, ReplyResult } from '../types.js';
import { workflowIds } from '../types.js';
import type { Turn } from './assistant-response.js';
import { lastIdOf } from './assistant-response.js';
import { bestEffort } from './best-effort.js';
import { startDetached } from '../start-detached.js';
import { CHAT_PATCHES } from './patches.js';

const optional = proxyLocalActivities<Activities>(chatBestEffortStep);

/** Signal extraction waits until this much has accumulated (the seed's batching). */
export const EXTRACTION_MIN_TURNS = 2;
export const EXTRACTION_MIN_CHARS = 30;

/**
 * Step 5: one LLM call over what accumulated (a bounded range); new signals are embedded by a
 * detached run. A range the model could not answer usefully was moved past by the activity:
 * that is reported as this step's degradation, through `bestEffort` like any failure.
 */
async function extractSignals(turn: Turn): Promise<void> {
  const { threadId, queues, userId, caseId } = turn.input;
  const { signalIds, cursor, failed } = await optional.extractThreadSignals.executeWithOptions(
    { ...chatBestEffortStep, summary: 'Step 5: extract signals from the new messages' },
    [{ threadId, uptoMessageId: lastIdOf(turn) }],
  );
  turn.state.turnsSinceExtraction = 0;
  turn.state.charsSinceExtraction = 0;
  if (failed) throw ApplicationFailure.nonRetryable(failed, 'LlmOutputInvalid');
  if (signalIds.length === 0) return;
  turn.state.interventionsIdle = false;
  await startDetached('generateSignalEmbeddings', {
    workflowId: workflowIds.signalEmbeddings(threadId, String(cursor)),
    taskQueue: queues.ingest,
    args: [{ signalIds, threadId }],
    staticSummary: `Embed ${signalIds.length} new signal(s) of thread ${threadId}`,
    typedSearchAttributes: searchAttributes({ threadId, userId, caseId }),
  });
}

async function detectStructure(turn: Turn): Promise<void> {
  const { suggested } = await optional.detectStructureReadiness.executeWithOptions(
    { ...chatBestEffortStep, summary: 'Step 6: is the thread ready for a case structure?' },
    [{ threadId: turn.input.threadId }],
  );
  if (suggested) turn.state.suggestionPending = true;
}

export async function afterReply(turn: Turn, reply: ReplyResult): Promise<void> {
  const { threadId, userId, caseId } = turn.input;
  const { state } = turn;
  const after: Degradation[] = [];
  state.turnsSinceExtraction += turn.batch.length;
  state.charsSinceExtraction += turn.batch.reduce((n, m) => n + m.chars, 0);
  if (state.turnsSinceExtraction >= EXTRACTION_MIN_TURNS || state.charsSinceExtraction >= EXTRACTION_MIN_CHARS) {
    await bestEffort('signal-extraction', after, () => extractSignals(turn));
  }
  // Runs recorded before the catalog held the case draft never ran step 6: they replay as they ran.
  if (canDraftStructure(turn.input.agents ?? AGENT_CATALOG) && patched(CHAT_PATCHES.suggestStructure)) {
    await bestEffort('structure-readiness', after, () => detectStructure(turn));
  }
  if (!reply.hasTitle && !state.hasTitle) {
    await bestEffort('title', after, () =>
      startDetached('generateChatTitle', {
        workflowId: workflowIds.chatTitle(threadId),
        args: [{ threadId }],
        staticSummary: `Title for thread ${threadId}`,
        typedSearchAttributes: searchAttributes({ threadId, userId, caseId }),
      }),
    );
  }
  const { replyId } = reply;
  if (after.length > 0 && replyId) {
    await bestEffort('record-degradations', [], () =>
      optional.recordDegradations.executeWithOptions(
        { ...chatBestEffortStep, summary: 'Record the optional steps that failed' },
        [{ replyId, degradations: after }],
      ),
    );
  }
}
