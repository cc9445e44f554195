/**
 * What the chat pipeline asks of a model, as one interface with two implementations:
 * `local` (deterministic heuristics, offline: honest about not being a model) and an
 * LLM-backed one over any OpenAI-compatible API.
 */
import type { ChatTurn } from './types.js';

export const SIGNAL_TYPES = [
  'assumption',
  'goal',
  'constraint',
  'question',
  'risk',
  'decision',
  'criterion',
  'mitigation',
] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];

export interface ExtractedSignal {
  type: SignalType;
  text: string;
  confidence: number;
}

export interface AgentCue {
  type: string;
  description: string;
  cues: string[];
}

export interface Inflection {
  agentType: string;
  confidence: number;
  reason: string;
}

export interface ReplyInput {
  history: ChatTurn[];
  /** The thread's active signals, for follow-up questions. */
  signals: { type: string; text: string }[];
  signal?: AbortSignal;
}

export interface Assistant {
  readonly provider: 'local' | 'openai';
  reply(input: ReplyInput): Promise<string>;
  extractSignals(messages: string[], signal?: AbortSignal): Promise<ExtractedSignal[]>;
  title(messages: string[], signal?: AbortSignal): Promise<string>;
  detectInflection(messages: string[], agents: AgentCue[], signal?: AbortSignal): Promise<Inflection | null>;
}
