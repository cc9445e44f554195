/**
 * The names from before the purpose split (./llm.ts), for files that still import them: the
 * tests, bench and fault workers other changes own. Nothing new should import this module;
 * delete it once nothing does.
 */
export {
  SIGNAL_TYPES,
  type AgentCue,
  type ExtractedSignal,
  type Inflection,
  type Llm as Assistant,
  type ReplyInput,
  type SignalType,
} from './llm.js';
