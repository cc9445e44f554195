/**
 * The agent catalog (DESIGN.md Decision 15): one static, workflow-safe list of every agent
 * casework can start, read the same way by the worker bundle and the gateway. Nothing
 * registers at import time, so which steps a conversation runs never depends on what a
 * module happened to load; tests pass fixture agents through the conversation's input.
 * It holds no real agent yet: the research agent adds the first entry (and gates chat's
 * inflection step for it behind `patched()`).
 */
import type { QueueNames } from '../types.js';

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
}

/** A name that once started an agent and no longer does: the API answers 410 with the pointer. */
export interface RemovedAgentName {
  name: string;
  pointer: string;
}

/** The type an accepted structure suggestion starts (the case-draft workflow, Decision 3). */
export const STRUCTURE_AGENT_TYPE = 'structure';

export const AGENT_CATALOG: readonly AgentDescriptor[] = [];

export const REMOVED_AGENT_NAMES: readonly RemovedAgentName[] = [
  {
    name: 'extract_document_signals_workflow',
    pointer: 'removed: documents are processed (and their signals extracted) by processDocument; POST /v1/cases/:caseId/documents',
  },
];

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
