/**
 * What activities ask of a model, one purpose per member (DESIGN.md Decision 17), each in
 * its own file under ./purposes/ with a `local` implementation (deterministic rules,
 * offline: honest about not being a model) and an OpenAI-compatible one over `LlmClient`.
 * A new purpose is a file there, a member here, and its name in `LlmPurpose`.
 */
import { localContradictionDetector, openAiContradictionDetector, type ContradictionDetector } from './purposes/contradiction.js';
import { localEvidenceLinker, openAiEvidenceLinker, type EvidenceLinker } from './purposes/evidence-link.js';
import { localEvidenceScorer, openAiEvidenceScorer, type EvidenceScorer } from './purposes/evidence-scoring.js';
import { localInflectionDetector, openAiInflectionDetector, type InflectionDetector } from './purposes/inflection.js';
import { localChatReplier, openAiChatReplier, type ChatReplier } from './purposes/reply.js';
import { localSignalExtractor, openAiSignalExtractor, type SignalExtractor } from './purposes/signal-extraction.js';
import { localTitler, openAiTitler, type Titler } from './purposes/title.js';
import type { LlmClient } from './types.js';

export type { AgentCue, Inflection, InflectionDetector } from './purposes/inflection.js';
export type { ChatReplier, ReplyInput } from './purposes/reply.js';
export { SIGNAL_TYPES, type ExtractedSignal, type SignalExtractor, type SignalType } from './purposes/signal-extraction.js';
export type { Titler } from './purposes/title.js';
export type { EvidenceScorer, EvidenceScores, EvidenceScoringInput } from './purposes/evidence-scoring.js';
export type { EvidenceLinkDecision, EvidenceLinker, EvidenceLinkInput, LinkCandidate } from './purposes/evidence-link.js';
export type { ContradictionCandidate, ContradictionDetector, ContradictionFinding, ContradictionInput } from './purposes/contradiction.js';

export interface Llm {
  /** Who answers; a reply's metadata names it. */
  readonly provider: 'local' | 'openai';
  reply: ChatReplier;
  extractSignals: SignalExtractor;
  title: Titler;
  detectInflection: InflectionDetector;
  scoreEvidence: EvidenceScorer;
  linkEvidence: EvidenceLinker;
  findContradictions: ContradictionDetector;
}

export function createLocalLlm(): Llm {
  return {
    provider: 'local',
    reply: localChatReplier,
    extractSignals: localSignalExtractor,
    title: localTitler,
    detectInflection: localInflectionDetector,
    scoreEvidence: localEvidenceScorer,
    linkEvidence: localEvidenceLinker,
    findContradictions: localContradictionDetector,
  };
}

export function createOpenAiLlm(client: LlmClient): Llm {
  return {
    provider: 'openai',
    reply: openAiChatReplier(client),
    extractSignals: openAiSignalExtractor(client),
    title: openAiTitler(client),
    detectInflection: openAiInflectionDetector(client),
    scoreEvidence: openAiEvidenceScorer(client),
    linkEvidence: openAiEvidenceLinker(client),
    findContradictions: openAiContradictionDetector(client),
  };
}
