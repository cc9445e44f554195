/**
 * Purpose `reply`: the assistant's answer in a chat turn. `local` notes the signals it
 * recognises and asks a follow-up question, and says it is rule-based.
 */
import { reportLocalUsage, type LlmCall } from '../metering.js';
import type { ChatTurn, LlmClient, Prompt } from '../types.js';
import { SIGNAL_TYPES, extractSignalsLocally, type SignalType } from './signal-extraction.js';

export interface ReplyInput extends LlmCall {
  history: ChatTurn[];
  /** The thread's active signals, for follow-up questions. */
  signals: { type: string; text: string }[];
}

export interface ChatReplier {
  (input: ReplyInput): Promise<string>;
}

/** Bounds a reply's cost; chat answers are meant to be short. */
const REPLY_MAX_TOKENS = 800;

const REPLY_SYSTEM = `You are casework's case assistant. Help the user think through their case:
reflect their goals, constraints, assumptions, risks and decisions, and ask one useful
follow-up question. Be concise. Never invent facts or sources.`;

export function replyPrompt({ history, signals }: Pick<ReplyInput, 'history' | 'signals'>): Prompt {
  const known = signals.map((s) => `- ${s.type}: ${s.text}`).join('\n');
  const system = known ? `${REPLY_SYSTEM}\n\nWhat the thread has established so far:\n${known}` : REPLY_SYSTEM;
  return { system, messages: history };
}

export function openAiChatReplier(client: LlmClient): ChatReplier {
  return async ({ history, signals, ...call }) => {
    const { text } = await client.complete({ ...replyPrompt({ history, signals }), ...call, purpose: 'reply', maxTokens: REPLY_MAX_TOKENS });
    return text;
  };
}

export const localChatReplier: ChatReplier = async ({ history, signals, ...call }) => {
  const startedAt = performance.now();
  const lastUser = [...history].reverse().find((t) => t.role === 'user');
  const text = replyLocally(lastUser?.content ?? '', signals);
  reportLocalUsage(call, { purpose: 'reply', input: replyPrompt({ history, signals }), output: text, startedAt });
  return text;
};

const FOLLOW_UPS: Record<SignalType, string> = {
  goal: 'What would tell you the goal has been reached?',
  constraint: 'Which of these constraints is firm, and which could move?',
  assumption: 'What evidence would confirm or overturn that assumption?',
  question: 'What have you found on that so far?',
  risk: 'What would you do if that risk materialised?',
  decision: 'Which criteria will you use to decide?',
  criterion: 'How would you weigh those criteria against each other?',
  mitigation: 'How confident are you that the mitigation would hold?',
};

export function replyLocally(lastUserText: string, threadSignals: { type: string; text: string }[]): string {
  const found = extractSignalsLocally([lastUserText]);
  const lead = '(local assistant, rule-based)';
  if (found.length === 0) {
    const open = threadSignals.find((s) => s.type === 'question');
    return open
      ? `${lead} Noted. An open question in this thread: "${open.text}" Shall we look at it next?`
      : `${lead} Noted. Could you tell me more about your goal and any constraints (budget, deadline)?`;
  }
  const summary = found.map((s) => `${s.type}: "${s.text}"`).join('; ');
  const lastType = found[found.length - 1]?.type ?? 'goal';
  const missing = SIGNAL_TYPES.find((t) => t !== 'question' && !threadSignals.some((s) => s.type === t) && !found.some((s) => s.type === t));
  const nudge = missing ? ` I have not heard about any ${missing} yet.` : '';
  return `${lead} I noted ${summary}. ${FOLLOW_UPS[lastType]}${nudge}`;
}
