/** Starting runs from a conversation: what a user accepted in chat (step 1). */
import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { Confirmation } from '../../activities/chat-suggestions.js';
import { holdThroughOutage, type OutageHold } from '../outage-hold.js';
import { chatBestEffortStep } from '../policies.js';
import type { ConversationInput } from '../types.js';

const optional = proxyLocalActivities<Activities>(chatBestEffortStep);

/**
 * Step 1's effect: what the accepted suggestion asks for (an agent on the thread's case, or
 * the case draft), started by the one start of the agent catalog in a local activity, which
 * commits its rows before it hands the run over (Decision 29), as the accept route does.
 */
export async function startAccepted(input: ConversationInput, hold: OutageHold, confirmation: Confirmation): Promise<void> {
  const what = confirmation.kind === 'structure' ? 'the case draft' : `the ${confirmation.agentType} agent`;
  await holdThroughOutage(hold, 'agent-start', () =>
    optional.startAcceptedSuggestion.executeWithOptions({ ...chatBestEffortStep, summary: `Step 1: start ${what}` }, [
      { threadId: input.threadId, suggestionId: confirmation.suggestionId, agents: input.agents },
    ]),
  );
}
