/**
 * What activities ask of a model, one purpose per member (DESIGN.md Decision 17), each in
 * its own file under ./purposes/ with a `local` implementation (deterministic rules,
 * offline: honest about not being a model) and an OpenAI-compatible one over `LlmClient`.
 * A new purpose is a file there, a member here, and its name in `LlmPurpose`; one that asks
 * for structured output lists its schema in `STRUCTURED_OUTPUTS`.
 */
import { briefOutput, localBriefWriter, openAiBriefWriter, type BriefWriter } from './purposes/brief.js';
import { contradictionsOutput, localContradictionDetector, openAiContradictionDetector, type ContradictionDetector } from './purposes/contradiction.js';
import { linksOutput, localEvidenceLinker, openAiEvidenceLinker, type EvidenceLinker } from './purposes/evidence-link.js';
import { localEvidenceScorer, scoresOutput, openAiEvidenceScorer, type EvidenceScorer } from './purposes/evidence-scoring.js';
import { inflectionOutput, localInflectionDetector, openAiInflectionDetector, type InflectionDetector } from './purposes/inflection.js';
import { localChatReplier, openAiChatReplier, type ChatReplier } from './purposes/reply.js';
import { localSignalExtractor, openAiSignalExtractor, signalsOutput, type SignalExtractor } from './purposes/signal-extraction.js';
import { localTitler, openAiTitler, titleOutput, type Titler } from './purposes/title.js';
import { localResearchPlanner, openAiResearchPlanner, planOutput, type ResearchPlanner } from './purposes/research-plan.js';
import { extractOutput, localFindingExtractor, openAiFindingExtractor, type FindingExtractor } from './purposes/research-extract.js';
import { evaluateOutput, localResearchEvaluator, openAiResearchEvaluator, type ResearchEvaluator } from './purposes/research-evaluate.js';
import { localResearchSynthesizer, openAiResearchSynthesizer, synthesisOutput, type ResearchSynthesizer } from './purposes/research-synthesize.js';
import { briefDraftOutput, critiqueOutput, localBriefDrafter, localCritiqueWriter, openAiBriefDrafter, openAiCritiqueWriter, type AgentReportWriter } from './purposes/agent-report.js';
import type { LlmClient } from './types.js';

export type { BriefDraft, BriefProse, BriefWriter } from './purposes/brief.js';
export type { AgentCue, Inflection, InflectionDetector } from './purposes/inflection.js';
export type { ChatReplier, ReplyInput } from './purposes/reply.js';
export { SIGNAL_TYPES, type ExtractedSignal, type SignalExtractor, type SignalType } from './purposes/signal-extraction.js';
export type { Titler } from './purposes/title.js';
export type { EvidenceScorer, EvidenceScores, EvidenceScoringInput } from './purposes/evidence-scoring.js';
export type { EvidenceLinkDecision, EvidenceLinker, EvidenceLinkInput, LinkCandidate } from './purposes/evidence-link.js';
export type { ResearchPlan, ResearchPlanInput, ResearchPlanner, ResearchSkill } from './purposes/research-plan.js';
export type { ExtractedFinding, FindingExtractor, ResearchExtractInput } from './purposes/research-extract.js';
export type { ResearchEvaluateInput, ResearchEvaluation, ResearchEvaluator } from './purposes/research-evaluate.js';
export type { ResearchSynthesis, ResearchSynthesisInput, ResearchSynthesizer, SynthesisFinding } from './purposes/research-synthesize.js';
export type { AgentReportInput, AgentReportWriter, CritiqueIssue, ReportSection } from './purposes/agent-report.js';
export type { ContradictionCandidate, ContradictionDetector, ContradictionFinding, ContradictionInput } from './purposes/contradiction.js';

/**
 * Every purpose's structured output, as sent: one unit test checks each against OpenAI's
 * strict mode (./strict-schema.ts), so a schema strict mode would refuse fails there first.
 */
export const STRUCTURED_OUTPUTS = [
  signalsOutput, titleOutput, inflectionOutput, scoresOutput, linksOutput, contradictionsOutput, briefOutput,
  planOutput, extractOutput, evaluateOutput, synthesisOutput, critiqueOutput, briefDraftOutput,
] as const;

export interface Llm {
  /** Who answers; a reply's metadata names it. */
  readonly provider: 'local' | 'openai';
  reply: ChatReplier;
  extractSignals: SignalExtractor;
  title: Titler;
  detectInflection: InflectionDetector;
  writeBrief: BriefWriter;
  scoreEvidence: EvidenceScorer;
  linkEvidence: EvidenceLinker;
  findContradictions: ContradictionDetector;
  planResearch: ResearchPlanner;
  extractFindings: FindingExtractor;
  evaluateResearch: ResearchEvaluator;
  synthesizeResearch: ResearchSynthesizer;
  writeCritique: AgentReportWriter;
  draftBrief: AgentReportWriter;
}

export function createLocalLlm(): Llm {
  return {
    provider: 'local',
    reply: localChatReplier,
    extractSignals: localSignalExtractor,
    title: localTitler,
    detectInflection: localInflectionDetector,
    writeBrief: localBriefWriter,
    scoreEvidence: localEvidenceScorer,
    linkEvidence: localEvidenceLinker,
    findContradictions: localContradictionDetector,
    planResearch: localResearchPlanner,
    extractFindings: localFindingExtractor,
    evaluateResearch: localResearchEvaluator,
    synthesizeResearch: localResearchSynthesizer,
    writeCritique: localCritiqueWriter,
    draftBrief: localBriefDrafter,
  };
}

export function createOpenAiLlm(client: LlmClient): Llm {
  return {
    provider: 'openai',
    reply: openAiChatReplier(client),
    extractSignals: openAiSignalExtractor(client),
    title: openAiTitler(client),
    detectInflection: openAiInflectionDetector(client),
    writeBrief: openAiBriefWriter(client),
    scoreEvidence: openAiEvidenceScorer(client),
    linkEvidence: openAiEvidenceLinker(client),
    findContradictions: openAiContradictionDetector(client),
    planResearch: openAiResearchPlanner(client),
    extractFindings: openAiFindingExtractor(client),
    evaluateResearch: openAiResearchEvaluator(client),
    synthesizeResearch: openAiResearchSynthesizer(client),
    writeCritique: openAiCritiqueWriter(client),
    draftBrief: openAiBriefDrafter(client),
  };
}
