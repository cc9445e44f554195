/** Every workflow, re-exported: the single `workflowsPath`. The export name is the type. */
export { conversation } from './chat/conversation.js';
export { generateChatTitle } from './chat/generate-chat-title.js';
export { generateSignalEmbeddings } from './signals/generate-signal-embeddings.js';
export { redeliverMessages } from './maintenance/redeliver-messages.js';
export { processDocument } from './documents/process-document.js';
export { fetchUrlAndIngest } from './documents/fetch-url-and-ingest.js';
export { evolveBrief } from './briefs/evolve-brief.js';
export { ingestEvidence } from './evidence/ingest-evidence.js';
export { draftCaseWorkflow } from './agents/draft-case.js';
export { extractSignalsWorkflow } from './signals/extract-signals.js';
export { cleanupOldEvents } from './maintenance/cleanup-old-events.js';
export { refreshWorkingViews } from './maintenance/refresh-working-views.js';
export { consolidateThreadSignals } from './maintenance/consolidate-thread-signals.js';
export { scheduleSignalConsolidation } from './maintenance/schedule-signal-consolidation.js';
export { updateSignalTemperatures } from './maintenance/update-signal-temperatures.js';
export { researchAgent } from './research/research-agent.js';
export { briefAgent, critiqueAgent } from './research/review-agents.js';
export {
  generate_research_artifact_v2, generate_research_artifact, generate_critique_artifact, generate_brief_artifact, extract_document_signals_workflow,
  generate_research_workflow, generate_debate_workflow, generate_critique_workflow,
} from './agents/legacy-names.js';
export { inquiryResearch, inquiryDebate, inquiryCritique } from './inquiries/inquiry.js';
