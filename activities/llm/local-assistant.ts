/**
 * The offline `local` provider: keyword heuristics, deterministic, no network. It is not a
 * language model and does not pretend to be one: replies say they come from it.
 */
import { SIGNAL_TYPES, type AgentCue, type Assistant, type ExtractedSignal, type Inflection, type SignalType } from './assistant.js';

/** Cue patterns per signal type; the first types win ties, so order matters. */
const SIGNAL_CUES: Record<SignalType, RegExp> = {
  question: /\?\s*$/,
  mitigation: /\b(mitigat\w*|fallback|backup plan|contingency|hedg\w*|insur\w*)\b/i,
  criterion: /\b(criteri\w*|success looks like|measure success|matters most|priorit\w*|weigh\w*)\b/i,
  decision: /\b(decid\w*|decision|choos\w*|choice|whether to|pick between|option[s]?)\b/i,
  risk: /\b(risk\w*|might fail|could fail|concern\w*|worr\w*|danger\w*|threat\w*|exposure)\b/i,
  constraint: /\b(must|cannot|can't|budget|deadline|no more than|at most|at least|limit\w*|requir\w*)\b/i,
  goal: /\b(goal\w*|want to|aim\w*|objective\w*|hope to|trying to|plan to|need to)\b/i,
  assumption: /\b(assum\w*|presum\w*|i think|probably|likely|suppos\w*|expect\w*)\b/i,
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

const MIN_SENTENCE_CHARS = 12;
const MAX_SIGNAL_CHARS = 300;

export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s.length >= MIN_SENTENCE_CHARS);
}

/** Classifies one sentence: the best-matching type and a confidence from how many cues hit. */
export function classifySentence(sentence: string): ExtractedSignal | null {
  const hits = SIGNAL_TYPES.filter((type) => SIGNAL_CUES[type].test(sentence));
  const first = hits[0];
  if (!first) return null;
  const confidence = Math.min(0.95, 0.6 + 0.1 * (hits.length - 1));
  return { type: first, text: sentence.slice(0, MAX_SIGNAL_CHARS), confidence };
}

export function extractSignalsLocally(messages: string[]): ExtractedSignal[] {
  const seen = new Set<string>();
  const out: ExtractedSignal[] = [];
  for (const sentence of messages.flatMap(splitSentences)) {
    const signal = classifySentence(sentence);
    const key = sentence.toLowerCase();
    if (signal && !seen.has(key)) {
      seen.add(key);
      out.push(signal);
    }
  }
  return out;
}

export function titleLocally(messages: string[]): string {
  const words = (messages[0] ?? '').replace(/[^\p{L}\p{N}\s'-]/gu, ' ').split(/\s+/).filter(Boolean);
  const title = words.slice(0, 7).join(' ');
  if (!title) return 'New conversation';
  const capped = title.length > 60 ? `${title.slice(0, 57)}...` : title;
  return capped.charAt(0).toUpperCase() + capped.slice(1);
}

export function detectInflectionLocally(messages: string[], agents: AgentCue[]): Inflection | null {
  const text = messages.join(' ').toLowerCase();
  let best: Inflection | null = null;
  for (const agent of agents) {
    const matched = agent.cues.filter((cue) => text.includes(cue.toLowerCase()));
    if (matched.length === 0) continue;
    const confidence = Math.min(0.95, 0.5 + 0.15 * matched.length);
    if (!best || confidence > best.confidence) {
      best = { agentType: agent.type, confidence, reason: `the conversation mentions ${matched.join(', ')}` };
    }
  }
  return best;
}

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

export function createLocalAssistant(): Assistant {
  return {
    provider: 'local',
    reply: async ({ history, signals }) => {
      const lastUser = [...history].reverse().find((t) => t.role === 'user');
      return replyLocally(lastUser?.content ?? '', signals);
    },
    extractSignals: async (messages) => extractSignalsLocally(messages),
    title: async (messages) => titleLocally(messages),
    detectInflection: async (messages, agents) => detectInflectionLocally(messages, agents),
  };
}
