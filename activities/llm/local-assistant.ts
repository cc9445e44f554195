/**
 * The names from before the purpose split, for files that still import them (see
 * ./assistant.ts). The rules themselves live with their purpose under ./purposes/.
 */
export { createLocalLlm as createLocalAssistant } from './llm.js';
export { detectInflectionLocally } from './purposes/inflection.js';
export { replyLocally } from './purposes/reply.js';
export { classifySentence, extractSignalsLocally, splitSentences } from './purposes/signal-extraction.js';
export { titleLocally } from './purposes/title.js';
