/**
 * The start behind the seed's agent names (Decision 35): a Temporal client that still starts
 * `generate_research_artifact_v2(case_id, topic, user_id, correlation_id, placeholder_message_id)`
 * (or v1, critique, brief) by workflow type reaches a thin alias workflow
 * (workflows/agents/legacy-names.ts), which calls this activity: the name is resolved through
 * the catalog's aliases, the case is checked against the user, and the v2 agent is started
 * through the one start (./start.ts, Decision 29) like any other.
 *
 * Every refusal is final (a retry could not change it): an unknown or removed name, a case
 * that is not the user's, a placeholder that is not an assistant message of that case.
 */
import { log } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import { cases, messages, threads } from '../db/schema/index.js';
import { failure } from '../errors.js';
import { lookupAgent } from '../../workflows/agents/catalog.js';
import type { LegacyAgentStart, LegacyAgentStarted } from '../../workflows/types.js';
import { startAgentRun, type AgentStartDeps } from './start.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function requireUuid(value: unknown, name: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw failure('ValidationError', `${name} must be a UUID`);
  return value;
}

/** The thread of a named placeholder: an assistant message in a thread of this case (the seed's caller created it). */
async function placeholderThread(deps: AgentStartDeps, caseId: string, messageId: string): Promise<string> {
  const [row] = await deps.db
    .select({ threadId: messages.threadId })
    .from(messages)
    .innerJoin(threads, eq(threads.id, messages.threadId))
    .where(and(eq(messages.id, messageId), eq(messages.role, 'assistant'), eq(threads.caseId, caseId)));
  if (!row) throw failure('NotFound', `placeholder message ${messageId} is not an assistant message of case ${caseId}`);
  return row.threadId;
}

export function createLegacyAgentActivities(deps: AgentStartDeps) {
  return {
    async startLegacyAgent(req: LegacyAgentStart): Promise<LegacyAgentStarted> {
      const found = lookupAgent(req.name);
      if (found.kind === 'removed') throw failure('AgentRemoved', `${req.name} is gone: ${found.pointer}`);
      if (found.kind !== 'agent' || found.descriptor.input !== 'agent') throw failure('AgentNotStartable', `"${req.name}" names no agent (known: ${found.kind === 'unknown' ? found.known.join(', ') : 'agents only'})`);
      const { descriptor } = found;
      const caseId = requireUuid(req.caseId, 'case_id');
      const userId = requireUuid(req.userId, 'user_id');
      if (typeof req.correlationId !== 'string' || req.correlationId.length === 0 || req.correlationId.length > 200) {
        throw failure('ValidationError', 'correlation_id must be a non-empty string of at most 200 characters');
      }
      const [own] = await deps.db.select({ id: cases.id, title: cases.title }).from(cases).where(and(eq(cases.id, caseId), eq(cases.userId, userId)));
      if (!own) throw failure('NotFound', `case ${caseId} not found for user ${userId}`);
      const placeholderMessageId = req.placeholderMessageId ? requireUuid(req.placeholderMessageId, 'placeholder_message_id') : undefined;
      const threadId = placeholderMessageId ? await placeholderThread(deps, caseId, placeholderMessageId) : undefined;
      const topic = typeof req.topic === 'string' && req.topic.trim() ? req.topic.trim().slice(0, 2000) : undefined;
      log.warn(`workflow type "${req.name}" is deprecated: use ${descriptor.workflowType} (POST /v1/cases/:caseId/agents/${descriptor.type})`, { caseId, agentType: descriptor.type });
      const handed = await startAgentRun(deps, {
        descriptor, userId, caseId, threadId, topic, correlationId: req.correlationId, placeholderMessageId,
      });
      if (handed.outcome === 'failed') throw failure('AgentNotStartable', handed.reason);
      return { workflowId: handed.row.workflowId, agentType: descriptor.type, placeholderMessageId: handed.row.placeholderMessageId! };
    },
  };
}
