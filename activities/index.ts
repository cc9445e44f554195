/** Every activity, closed over its dependencies. Only workers import this as a value. */
import { createReplyActivities } from './chat-reply.js';
import { createInterventionActivities } from './chat-interventions.js';
import { createSuggestionActivities } from './chat-suggestions.js';
import type { Db } from './db/client.js';
import { withClassifiedErrors } from './errors.js';
import type { Assistant } from './llm/assistant.js';
import type { Embedder } from './llm/types.js';
import { createSignalActivities } from './signals.js';

export interface ActivityDeps {
  db: Db;
  assistant: Assistant;
  embedder: Embedder;
}

export function createActivities(deps: ActivityDeps) {
  return withClassifiedErrors({
    ...createReplyActivities(deps),
    ...createInterventionActivities(deps),
    ...createSuggestionActivities(deps),
    ...createSignalActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
