/**
 * The seed's agent task names, for Temporal clients that still start them by workflow type
 * (Decision 35). Their exports keep the seed's snake_case, the one exception to the house's
 * camelCase: the export name is the workflow type a seed client starts. Each takes the seed's
 * positional arguments (v2's from the seed; v1, critique and brief, which the seed never gave,
 * as `(case_id, topic_or_focus, user_id, correlation_id)`), maps them to the v2 agent's input
 * and starts it through the catalog's one start (an activity: the case checked against the
 * user, the `agent_runs` row and the placeholder committed first, Decision 29), answering the
 * v2 run's workflow id to follow. They run on the `research` queue; the deprecation names the
 * new workflow in the worker's log.
 *
 * The seed's inquiry names (`generate_research_workflow`, `generate_debate_workflow`,
 * `generate_critique_workflow`; ours `(inquiry_id, user_id, correlation_id?)`, the seed gave
 * none) start or join that kind of the inquiry (`inquiry-<kind>-<inquiryId>`), the inquiry
 * checked against the user.
 *
 * `extract_document_signals_workflow` was removed (Decision 6): it fails at once, not retried,
 * with the pointer the agents route's 410 gives.
 */
import { ApplicationFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { REMOVED_AGENT_NAMES } from './catalog.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { researchBookkeeping } from '../policies.js';
import type { InquiryKindName, LegacyAgentStart, LegacyAgentStarted } from '../types.js';

const acts = proxyActivities<Activities>(researchBookkeeping);

async function startByOldName(start: LegacyAgentStart): Promise<LegacyAgentStarted> {
  log.warn(`workflow type "${start.name}" is deprecated: it starts the v2 agent through the catalog`, { aliasWorkflowId: workflowInfo().workflowId });
  return holdThroughOutage(newHold(), 'start', () =>
    acts.startLegacyAgent.executeWithOptions({ ...researchBookkeeping, summary: `Start the v2 agent behind ${start.name}` }, [start]),
  );
}

/** The seed's `generate_research_artifact_v2(case_id, topic, user_id, correlation_id, placeholder_message_id)` → researchAgent. */
export async function generate_research_artifact_v2(
  case_id: string, topic: string, user_id: string, correlation_id: string, placeholder_message_id?: string,
): Promise<LegacyAgentStarted> {
  return startByOldName({
    name: 'generate_research_artifact_v2', caseId: case_id, topic, userId: user_id, correlationId: correlation_id, placeholderMessageId: placeholder_message_id ?? undefined,
  });
}

/** v1 `generate_research_artifact(case_id, topic_or_focus, user_id, correlation_id)` → researchAgent. */
export async function generate_research_artifact(case_id: string, topic_or_focus: string, user_id: string, correlation_id: string): Promise<LegacyAgentStarted> {
  return startByOldName({ name: 'generate_research_artifact', caseId: case_id, topic: topic_or_focus, userId: user_id, correlationId: correlation_id });
}

/** `generate_critique_artifact(case_id, topic_or_focus, user_id, correlation_id)` → critiqueAgent. */
export async function generate_critique_artifact(case_id: string, topic_or_focus: string, user_id: string, correlation_id: string): Promise<LegacyAgentStarted> {
  return startByOldName({ name: 'generate_critique_artifact', caseId: case_id, topic: topic_or_focus, userId: user_id, correlationId: correlation_id });
}

/** `generate_brief_artifact(case_id, topic_or_focus, user_id, correlation_id)` → briefAgent. */
export async function generate_brief_artifact(case_id: string, topic_or_focus: string, user_id: string, correlation_id: string): Promise<LegacyAgentStarted> {
  return startByOldName({ name: 'generate_brief_artifact', caseId: case_id, topic: topic_or_focus, userId: user_id, correlationId: correlation_id });
}

/** The seed's inquiry names: `(inquiry_id, user_id, correlation_id?)` (ours: the seed gave none), each starting or joining its kind. */
async function startInquiryByOldName(name: string, kind: InquiryKindName, inquiryId: string, userId: string, correlationId?: string): Promise<{ workflowId: string }> {
  log.warn(`workflow type "${name}" is deprecated: it starts the inquiry's ${kind}`, { aliasWorkflowId: workflowInfo().workflowId });
  return holdThroughOutage(newHold(), 'start', () =>
    acts.startLegacyInquiry.executeWithOptions({ ...researchBookkeeping, summary: `Start the inquiry's ${kind} behind ${name}` }, [
      { name, kind, inquiryId, userId, correlationId: correlationId ?? undefined },
    ]),
  );
}

/** `generate_research_workflow(inquiry_id, user_id, correlation_id?)` → inquiryResearch. */
export async function generate_research_workflow(inquiry_id: string, user_id: string, correlation_id?: string): Promise<{ workflowId: string }> {
  return startInquiryByOldName('generate_research_workflow', 'research', inquiry_id, user_id, correlation_id);
}

/** `generate_debate_workflow(inquiry_id, user_id, correlation_id?)` → inquiryDebate. */
export async function generate_debate_workflow(inquiry_id: string, user_id: string, correlation_id?: string): Promise<{ workflowId: string }> {
  return startInquiryByOldName('generate_debate_workflow', 'debate', inquiry_id, user_id, correlation_id);
}

/** `generate_critique_workflow(inquiry_id, user_id, correlation_id?)` → inquiryCritique. */
export async function generate_critique_workflow(inquiry_id: string, user_id: string, correlation_id?: string): Promise<{ workflowId: string }> {
  return startInquiryByOldName('generate_critique_workflow', 'critique', inquiry_id, user_id, correlation_id);
}

/** Removed (Decision 6): fails at once, not retried, with the pointer. Whatever it is given, it starts nothing. */
export async function extract_document_signals_workflow(..._seedArgs: unknown[]): Promise<never> {
  const removed = REMOVED_AGENT_NAMES.find((r) => r.name === 'extract_document_signals_workflow')!;
  throw ApplicationFailure.nonRetryable(`extract_document_signals_workflow is ${removed.pointer}`, 'AgentRemoved');
}
