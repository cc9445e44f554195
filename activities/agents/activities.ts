/**
 * The agents' activities (Decision 29): what every agent workflow calls on its row and
 * placeholder (./runs.ts), the case draft's steps (./draft.ts), and chat step 1's start.
 */
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentSuggestions } from '../db/schema/index.js';
import { failure, notFound } from '../errors.js';
import { loadThread } from '../chat-reply.js';
import type { BriefConfig } from '../../workers/config.js';
import { AGENT_CATALOG, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import type { QueueNames } from '../../workflows/types.js';
import { createDraftActivities } from './draft.js';
import { createLegacyAgentActivities } from './legacy.js';
import { createAgentRunActivities } from './runs.js';
import { planSuggestionStart, startPlanned } from './suggested.js';

export interface AgentDeps {
  db: Db;
  temporal: Client;
  config: { queues: QueueNames; brief?: BriefConfig };
}

export function createAgentActivities(deps: AgentDeps) {
  const { db, temporal, config } = deps;
  return {
    ...createAgentRunActivities(deps),
    ...createDraftActivities(deps),
    ...createLegacyAgentActivities({ db, temporal, queues: config.queues }),

    /**
     * Chat step 1's start: what the accepted suggestion asks for (./suggested.ts), committed
     * and handed over as the accept route does. An activity, not a child of the conversation:
     * joining a running case draft is a signal-with-start, which workflow code cannot send,
     * and the start's rows are committed first either way. A start left unconfirmed is the
     * sweeper's; one that certainly failed fails its row, and this step with its reason.
     */
    async startAcceptedSuggestion(req: { threadId: string; suggestionId: string; agents?: AgentDescriptor[] }): Promise<{ workflowId: string }> {
      const thread = await loadThread(db, req.threadId);
      const [suggestion] = await db
        .select()
        .from(agentSuggestions)
        .where(and(eq(agentSuggestions.id, req.suggestionId), eq(agentSuggestions.threadId, req.threadId), eq(agentSuggestions.status, 'accepted')));
      if (!suggestion) throw notFound(`accepted suggestion ${req.suggestionId}`);
      const plan = planSuggestionStart(suggestion, thread, req.agents ?? AGENT_CATALOG);
      if ('problem' in plan) throw failure('AgentNotStartable', plan.problem);
      const handed = await startPlanned({ db, temporal, queues: config.queues }, suggestion.id, plan);
      if (handed.outcome === 'failed') throw failure('AgentNotStartable', handed.reason);
      return { workflowId: handed.row.workflowId };
    },
  };
}
