/**
 * The agent catalog (DESIGN.md Decision 15): one static, workflow-safe list of every agent
 * casework can start, read the same way by the worker bundle and the gateway. Nothing
 * registers at import time, so which steps a conversation runs never depends on what a
 * module happened to load; tests pass fixture agents through the conversation's input.
 * Its first entry is the case draft (`structure`, Decision 3); the research agent is the
 * first agent (chat's inflection step suggests it behind `patched()`, Decision 30). Every entry is
 * started by one function (activities/agents/start.ts, Decision 29), which builds the run's
 * id from the entry's template and commits an `agent_runs` row before handing it over.
 *
 * An agent's workflow takes `AgentInput` and keeps its row and placeholder current through
 * the activities of activities/agents/runs.ts: `claimAgentRun` first (the sweeper leaves a
 * claimed row alone), `reportAgentProgress` as it goes, `finishAgentRun` at the end.
 */
import type { QueueNames } from '../types.js';

/** Which input a catalog entry's workflow takes: `agent` (`AgentInput`, on a case) or `case-draft` (`DraftCaseInput`, from a thread). */
export type AgentInputShape = 'agent' | 'case-draft';

export interface AgentDescriptor {
  /** The name clients and the chat use (`research`, `critique`, ...). */
  type: string;
  /** The workflow type started for it, by name. */
  workflowType: string;
  queue: keyof QueueNames;
  description: string;
  /** Words that, in conversation, suggest this agent would help (local inflection rules). */
  cues: string[];
  /** The seed's older names, still accepted with a deprecation warning. */
  aliases: string[];
  /**
   * Its workflow id (Decision 21) as a template the one start fills in: `{caseId}`,
   * `{threadId}`, `{correlationId}`. Data, not a function: fixture catalogs travel through
   * workflow inputs, which carry JSON only.
   */
  workflowId: string;
  /** The input its workflow takes. */
  input: AgentInputShape;
}

/** The ids a workflow-id template may name. */
export interface AgentRunIds {
  caseId?: string;
  threadId?: string;
  correlationId?: string;
}

/** A name that once started an agent and no longer does: the API answers 410 with the pointer. */
export interface RemovedAgentName {
  name: string;
  pointer: string;
}

/** The type an accepted structure suggestion starts (the case-draft workflow, Decision 3). */
export const STRUCTURE_AGENT_TYPE = 'structure';

/** Decision 21: research runs are `research-<caseId>-<correlationId>`, every other agent `agent-<type>-<caseId>-<correlationId>`. */
export function agentWorkflowIdTemplate(type: string): string {
  return type === 'research' ? 'research-{caseId}-{correlationId}' : `agent-${type}-{caseId}-{correlationId}`;
}

/** The case draft (Decision 3): accepted from a thread, one run per thread (`draft-case-<threadId>`). */
export const CASE_DRAFT: AgentDescriptor = {
  type: STRUCTURE_AGENT_TYPE,
  workflowType: 'draftCaseWorkflow',
  queue: 'chat',
  description: 'Drafts a case from the thread: title, description and structure from its signals',
  cues: [],
  aliases: [],
  workflowId: 'draft-case-{threadId}',
  input: 'case-draft',
};

/** The research agent (issue 19): the seed's `generate_research_artifact_v2`, and v1's name as an alias too. */
export const RESEARCH_AGENT: AgentDescriptor = {
  type: 'research',
  workflowType: 'researchAgent',
  queue: 'research',
  description: 'Researches a topic in the case\'s documents and evidence (and the web, when a search service is configured) and writes a cited report',
  // Two cues must match for the local inflection rule to pass the 0.75 threshold: a passing "research" alone suggests nothing.
  cues: ['research', 'investigate', 'look into', 'find out', 'sources', 'dig into'],
  aliases: ['generate_research_artifact_v2', 'generate_research_artifact'],
  workflowId: agentWorkflowIdTemplate('research'),
  input: 'agent',
};

/** The critique agent (issue 20): reviews the case's brief, evidence and signals; a cited critique and annotations on the brief. */
export const CRITIQUE_AGENT: AgentDescriptor = {
  type: 'critique',
  workflowType: 'critiqueAgent',
  queue: 'research',
  description: 'Reviews the case for weak or unsupported claims, missing counter-evidence, one-sided sourcing and open contradictions; writes a cited critique and annotates the brief',
  // Phrases, not words: cues match as substrings, and two must match for the 0.75 threshold.
  cues: ['critique', 'weak claim', 'unsupported', 'counter-evidence', 'one-sided', 'poke holes', 'devil\'s advocate', 'challenge the'],
  aliases: ['generate_critique_artifact'],
  workflowId: agentWorkflowIdTemplate('critique'),
  input: 'agent',
};

/** The brief agent (issue 20): a full cited brief of the case, the document a person would send. */
export const BRIEF_AGENT: AgentDescriptor = {
  type: 'brief',
  workflowType: 'briefAgent',
  queue: 'research',
  description: 'Drafts a full, cited brief of the case: the document a person would send',
  cues: ['write up', 'write-up', 'draft a brief', 'full brief', 'briefing', 'memo', 'document to send'],
  aliases: ['generate_brief_artifact'],
  workflowId: agentWorkflowIdTemplate('brief'),
  input: 'agent',
};

export const AGENT_CATALOG: readonly AgentDescriptor[] = [CASE_DRAFT, RESEARCH_AGENT, CRITIQUE_AGENT, BRIEF_AGENT];

export const REMOVED_AGENT_NAMES: readonly RemovedAgentName[] = [
  {
    name: 'extract_document_signals_workflow',
    pointer:
      'removed: documents are processed by processDocument (POST /v1/cases/:caseId/documents), which extracts no signals; ' +
      'signals are extracted from a document by POST /v1/cases/:caseId/signals/extract { documentId }',
  },
];

/** The run's workflow id, from its entry's template; an id the template names but the start lacks is a bug of the caller. */
export function buildWorkflowId(descriptor: AgentDescriptor, ids: AgentRunIds): string {
  return descriptor.workflowId.replace(/\{(caseId|threadId|correlationId)\}/g, (_match, name: keyof AgentRunIds) => {
    const value = ids[name];
    if (!value) throw new Error(`the ${descriptor.type} workflow id needs a ${name}`);
    return value;
  });
}

export type AgentLookup =
  | { kind: 'agent'; descriptor: AgentDescriptor; deprecatedAlias?: string }
  | { kind: 'removed'; pointer: string }
  | { kind: 'unknown'; known: string[] };

/** Resolves a type or alias against a catalog (the real one unless a test passes its own). */
export function lookupAgent(name: string, catalog: readonly AgentDescriptor[] = AGENT_CATALOG): AgentLookup {
  const direct = catalog.find((d) => d.type === name);
  if (direct) return { kind: 'agent', descriptor: direct };
  const aliased = catalog.find((d) => d.aliases.includes(name));
  if (aliased) return { kind: 'agent', descriptor: aliased, deprecatedAlias: name };
  const removed = REMOVED_AGENT_NAMES.find((r) => r.name === name);
  if (removed) return { kind: 'removed', pointer: removed.pointer };
  return { kind: 'unknown', known: catalog.map((d) => d.type).filter((t) => t !== STRUCTURE_AGENT_TYPE) };
}

export function resolveAgent(name: string, catalog: readonly AgentDescriptor[] = AGENT_CATALOG): AgentDescriptor | undefined {
  const found = lookupAgent(name, catalog);
  return found.kind === 'agent' ? found.descriptor : undefined;
}

/** The agents chat may suggest (step 2): every real agent, not the case draft. */
export function suggestableAgents(catalog: readonly AgentDescriptor[] = AGENT_CATALOG): AgentDescriptor[] {
  return catalog.filter((d) => d.type !== STRUCTURE_AGENT_TYPE);
}

/** Structure suggestions (step 6) are made only once the case-draft workflow exists. */
export function canDraftStructure(catalog: readonly AgentDescriptor[] = AGENT_CATALOG): boolean {
  return catalog.some((d) => d.type === STRUCTURE_AGENT_TYPE);
}
