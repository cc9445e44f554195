/** Every activity, closed over its dependencies. Only workers import this as a value. */
import type { Client } from '@temporalio/client';
import { createAgentActivities } from './agents/activities.js';
import { createBriefActivities } from './briefs/activities.js';
import { createReplyActivities } from './chat-reply.js';
import { createInterventionActivities } from './chat-interventions.js';
import { createSuggestionActivities } from './chat-suggestions.js';
import type { PoolDb } from './db/client.js';
import { createDocumentActivities } from './documents/activities.js';
import { createDocumentEvidenceActivities } from './documents/evidence.js';
import { createDocumentStartActivities } from './documents/start.js';
import { parseSettingsOf, type DocumentSettings } from './documents/settings.js';
import { createEvidenceActivities } from './evidence/activities.js';
import { withClassifiedErrors } from './errors.js';
import type { Llm } from './llm/llm.js';
import type { Embedder } from './llm/types.js';
import { createParsePool, type ParsePool } from './parse/pool.js';
import { createMaintenanceActivities } from './maintenance/activities.js';
import { createRedeliveryActivities } from './redelivery.js';
import { createResearchActivities } from './research/activities.js';
import { createInquiryActivities } from './inquiries/activities.js';
import { createInquiryStartActivities } from './inquiries/start.js';
import { createSignalActivities } from './signals.js';
import { createSignalExtractionActivities } from './signal-extraction.js';
import type { ExtractionBounds } from './signal-range.js';
import type { SafeFetcher } from './web/fetcher.js';
import { createUrlIngestActivities } from './web/ingest.js';
import type { BriefConfig, FetchConfig, HousekeepingConfig, RedeliveryConfig, ResearchConfig, SearchConfig, SignalMaintenanceConfig } from '../workers/config.js';
import type { QueueNames } from '../workflows/types.js';
import { createHousekeepingActivities } from './maintenance/index.js';

/** The slice of config activities need (DESIGN.md Decision 16): activities never read env. */
export interface ActivityConfig {
  queues: QueueNames;
  chat: { redeliveryAfterMs: number };
  /** How long a document or piece of evidence stays pending before the redelivery job hands it over again; absent: the default. */
  redelivery?: RedeliveryConfig;
  /** Chunk sizes, embedding batch, evidence cap and parse pool of processDocument; absent: the config module's defaults. */
  documents?: DocumentSettings;
  /** The URL fetcher's limits and allowlist (FETCH_*); absent: the config module's defaults. */
  fetch?: FetchConfig;
  /** The range chat step 5 reads in one call (SIGNAL_EXTRACTION_MAX_*); absent: the defaults. */
  signalExtraction?: ExtractionBounds;
  /** The brief's debounce windows (passed to `evolveBrief` when an activity starts it) and its stale-evidence age; absent: the defaults. */
  brief?: BriefConfig;
  /** Event retention and the audit types it keeps (EVENTS_*); absent: the defaults. */
  housekeeping?: HousekeepingConfig;
  /** Signal consolidation and temperatures (SIGNAL_*); absent: the defaults. */
  signalMaintenance?: SignalMaintenanceConfig;
  /** Retrieval's bounds and this process's vector cache (SEARCH_*: the evidence pipeline's candidates); absent: the defaults. */
  search?: SearchConfig;
  /** The research agent's defaults (budget, rounds, stall, context) and its web search; absent: the defaults, corpus only. */
  research?: ResearchConfig;
}

export interface ActivityDeps {
  db: PoolDb;
  /** One member per purpose (reply, extraction, title, inflection, brief, the evidence ones); every call is metered. */
  llm: Llm;
  embedder: Embedder;
  /** A client on the worker's connection: signal-with-start from activities, schedules, queries. */
  temporal: Client;
  config: ActivityConfig;
  /** The clock of the world (tests may fix it). */
  clock: () => Date;
  /**
   * The URL fetcher, built from `config.fetch` by the composition root, which closes it at
   * shutdown (it owns a connection pool); absent: one is built from `config.fetch` on first use.
   */
  fetcher?: SafeFetcher;
  /**
   * The threads that parse documents and pages off the event loop, built by the composition
   * root from `config.documents`, which closes it at shutdown; absent: one shared pool is
   * built here (its idle threads keep no process alive).
   */
  parsePool?: ParsePool;
}

export function createActivities(deps: ActivityDeps) {
  const parsePool = deps.parsePool ?? createParsePool(parseSettingsOf(deps.config.documents));
  return withClassifiedErrors({
    ...createReplyActivities(deps),
    ...createInterventionActivities(deps),
    ...createSuggestionActivities(deps),
    ...createSignalActivities(deps),
    ...createRedeliveryActivities(deps),
    ...createDocumentActivities({ ...deps, parsePool }),
    ...createDocumentEvidenceActivities(deps),
    ...createDocumentStartActivities(deps),
    ...createUrlIngestActivities({ ...deps, parsePool }),
    ...createBriefActivities(deps),
    ...createEvidenceActivities(deps),
    ...createAgentActivities(deps),
    ...createSignalExtractionActivities(deps),
    ...createHousekeepingActivities(deps),
    ...createMaintenanceActivities(deps),
    ...createResearchActivities({ ...deps, parsePool }),
    ...createInquiryActivities(deps),
    ...createInquiryStartActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
