/**
 * The agent registry: agent type → workflow type name and queue kind. Workflow-safe (no
 * imports of workflow code), so the conversation workflow dispatches from it by name and
 * the gateway reads it. An agent type is only ever suggested once its workflow exists,
 * which is what registering it says. `structure` is the case-draft workflow that an
 * accepted structure suggestion starts (DESIGN.md Decision 3).
 */
import type { QueueNames } from '../types.js';

export interface AgentDescriptor {
  type: string;
  workflowType: string;
  queue: keyof QueueNames;
  description: string;
  /** Older names (the seed's task names) that still resolve to this agent. */
  aliases: string[];
  /** Words that, in conversation, suggest this agent would help (local inflection rules). */
  cues: string[];
}

export const STRUCTURE_AGENT_TYPE = 'structure';

const registry = new Map<string, AgentDescriptor>();

export function registerAgent(descriptor: AgentDescriptor): void {
  registry.set(descriptor.type, descriptor);
}

export function agentTypes(): string[] {
  return [...registry.keys()].filter((t) => t !== STRUCTURE_AGENT_TYPE);
}

export function canDraftStructure(): boolean {
  return registry.has(STRUCTURE_AGENT_TYPE);
}

/** Looks an agent up by type or by one of its aliases. */
export function resolveAgent(typeOrAlias: string): AgentDescriptor | undefined {
  const direct = registry.get(typeOrAlias);
  if (direct) return direct;
  for (const d of registry.values()) if (d.aliases.includes(typeOrAlias)) return d;
  return undefined;
}

export function describeAgents(): AgentDescriptor[] {
  return [...registry.values()];
}
