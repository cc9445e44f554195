/**
 * The one config module. Every setting is read from the environment here, once, when a
 * composition root calls `loadConfig()`; nothing is read at import time. The README's
 * config table documents each variable and its default.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import packageJson from '../package.json' with { type: 'json' };
import { EVENT_TYPES } from '../workflows/types.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/** Document limits and the pipeline's sizes (README: Configuration). */
export interface DocumentConfig {
  /** An upload larger than this, decoded, is a 400; the documents route's body limit fits its base64. */
  maxBytes: number;
  /** Tokens per chunk (gpt-tokenizer's o200k_base). */
  chunkTokens: number;
  /** Tokens a chunk repeats from the end of the one before it. */
  chunkOverlapTokens: number;
  /** Chunks per embedding call: one heartbeat and one stored batch each. */
  embedBatchSize: number;
  /** Passages an uploaded or fetched document gives its case as evidence, at most (0: none). */
  evidenceMax: number;
  /** Worker threads that parse large inputs off the event loop (activities/parse/pool.ts). */
  parseThreads: number;
  /** Wall-clock time one parse may take in a thread; past it the thread is terminated and the document fails. */
  parseDeadlineMs: number;
}

export const DOCUMENT_DEFAULTS: DocumentConfig = {
  maxBytes: 10 * 1024 * 1024,
  chunkTokens: 512,
  chunkOverlapTokens: 64,
  embedBatchSize: 64,
  evidenceMax: 5,
  parseThreads: 2,
  parseDeadlineMs: 60_000,
};

/** Each passage is an ingestion run and model calls: a document is not a firehose of evidence. */
export const DOCUMENT_EVIDENCE_MAX_LIMIT = 50;

/** Retrieval's bounds (README: Configuration, Retrieval): the search route's, and what a process's vector cache holds. */
export interface SearchConfig {
  /** Searches one user may make per minute on one gateway (each embeds its query). */
  rateLimitPerMinute: number;
  /** Vectors compared per case and kind; past it the newest are, and the result says so. */
  maxVectors: number;
  /** Vector bytes (dimensions × 4 × rows) per case and kind; with maxVectors, whichever allows fewer rows binds. */
  maxVectorBytes: number;
  /** Bytes of vectors one process keeps in memory over every case and kind (least recently used evicted first). */
  vectorCacheBytes: number;
  /** Full-text matches ranked per source and search; 0: every match. */
  maxRanked: number;
}

export const SEARCH_DEFAULTS: SearchConfig = {
  rateLimitPerMinute: 60,
  maxVectors: 200_000,
  // 131 072 vectors of 256 dimensions (the local embedder's), 21 845 of 1536.
  maxVectorBytes: 128 * 1024 * 1024,
  // About two kinds of 100 000 vectors of 256 dimensions (each row costs ~1.1 KB with its id).
  vectorCacheBytes: 256 * 1024 * 1024,
  maxRanked: 2_000,
};

/** The brief's debounce (the seed's 10 s window) and when its idle workflow closes (README: Configuration). */
export interface BriefConfig {
  /** Quiet time after the last change before the brief evolves. */
  debounceMs: number;
  /** The longest a change waits while changes keep coming. */
  maxWaitMs: number;
  /** A case's brief workflow with nothing to do for this long closes; the next change starts it again. */
  idleCloseMs: number;
  /** Evidence the brief cites that was recorded longer ago than this gets a `stale-evidence` annotation. */
  staleEvidenceDays: number;
}

export const BRIEF_DEFAULTS: BriefConfig = { debounceMs: 10_000, maxWaitMs: 60_000, idleCloseMs: 60 * 60 * 1000, staleEvidenceDays: 180 };

/** The submitted evidence's bound (README: Configuration). */
export interface EvidenceConfig {
  /** Characters of `text` a submission may carry (before whitespace is collapsed); more is a 400. */
  maxChars: number;
}

export const EVIDENCE_DEFAULTS: EvidenceConfig = { maxChars: 20_000 };

/** The redelivery job's grace for the rows other than chat messages (README: Configuration). */
export interface RedeliveryConfig {
  /** A document or piece of evidence still `pending` after this long is handed over again. */
  afterMs: number;
}

/** Longer than chat's: a document or item may wait its turn in a busy `ingest` queue, and its run is then found open. */
export const REDELIVERY_DEFAULTS: RedeliveryConfig = { afterMs: 60_000 };

/**
 * The housekeeping jobs' settings (issue 18, "The seed's stubs, built"; README: Maintenance):
 * how long events and finished runs' progress are kept, which event types are kept for good,
 * and how often the working views are refreshed.
 */
export interface HousekeepingConfig {
  /** Events (and the progress rows of closed runs) older than this many days are deleted by `cleanupOldEvents`. */
  eventsRetentionDays: number;
  /** Event types kept whatever their age: the audit trail a person may ask for later. */
  auditEventTypes: string[];
  /** `<prefix>working-views-refresh` runs this often. */
  workingViewsRefreshEveryMs: number;
}

export const HOUSEKEEPING_DEFAULTS: HousekeepingConfig = {
  eventsRetentionDays: 90,
  auditEventTypes: ['CASE_DRAFTED', 'DOCUMENT_ADDED', 'EVIDENCE_ADDED', 'RESEARCH_COMPLETED', 'AGENT_FAILED'],
  workingViewsRefreshEveryMs: 5 * 60 * 1000,
};

/** How long an `Idempotency-Key` answer is replayed; older rows are expired (the gateway takes them over, the cleanup deletes them). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Signal maintenance (issue 18; Decisions 22, 34): what consolidation and the temperatures
 * decide (the maths, activities/maintenance/signal-maths.ts) and how the fan-out runs.
 */
export interface SignalMaintenanceConfig {
  /** Two active signals of one scope merge when their cosine similarity is above this (not equal). */
  mergeSimilarity: number;
  /** Confidence halves every this many days since `last_seen_at`. */
  halfLifeDays: number;
  /** A decayed confidence below this (not equal) archives the signal. */
  archiveBelow: number;
  /** Hot: last seen or referenced within this many days. */
  hotDays: number;
  /** Warm: within this many days, or at least `warmReferences` references; else cold. */
  warmDays: number;
  warmReferences: number;
  /** The fan-out takes threads updated within this many days ... */
  recentDays: number;
  /** ... and threads (and cases' own signals) with at least this many active signals. */
  minActiveSignals: number;
  /** Children in flight at once (a sliding window). */
  concurrency: number;
  /** Scopes one run of the fan-out starts before it continues as new. */
  scopesPerRun: number;
  /** Rows one transaction writes (merges, decay, temperatures). */
  batchSize: number;
}

export const SIGNAL_MAINTENANCE_DEFAULTS: SignalMaintenanceConfig = {
  mergeSimilarity: 0.9,
  halfLifeDays: 30,
  archiveBelow: 0.3,
  hotDays: 3,
  warmDays: 14,
  warmReferences: 5,
  recentDays: 7,
  minActiveSignals: 10,
  concurrency: 4,
  scopesPerRun: 500,
  batchSize: 200,
};

const unitInterval = z.coerce.number().min(0).max(1);

/** The research agent's defaults and bounds (README: Research; config rows). */
export interface ResearchConfig {
  /** LLM tokens one research run may spend when the request names no `budgetTokens`. */
  budgetTokens: number;
  /** Search → Extract → Evaluate rounds when the request names no `maxIterations`. */
  maxIterations: number;
  /** Rounds in a row with no new finding (or only empty searches) that end the loop early. */
  stallRounds: number;
  /** Tokens of findings and sources a run carries into its next prompt; past it, continue-as-new with a handoff summary. */
  contextTokens: number;
  /** A SearXNG-compatible JSON search API (`…/search`); absent: the case corpus only. */
  searchUrl?: string;
  /** Results read per query and provider. */
  resultsPerQuery: number;
  /** Milliseconds one call to the search API may take. */
  searchTimeoutMs: number;
}

export const RESEARCH_DEFAULTS: ResearchConfig = {
  budgetTokens: 200_000,
  maxIterations: 4,
  stallRounds: 2,
  contextTokens: 24_000,
  resultsPerQuery: 5,
  searchTimeoutMs: 10_000,
};

export const QUEUE_KINDS = ['chat', 'ingest', 'research', 'maintenance'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: optionalString,
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool.optional(),
  TEMPORAL_PROFILE: optionalString,
  DATABASE_URL: optionalString,
  CASEWORK_EMBEDDED_PG_PORT: port.default(5488),
  DB_POOL_MAX: positiveInt.default(10),
  DB_CONNECT_TIMEOUT_S: positiveInt.default(10),
  DB_STATEMENT_TIMEOUT_MS: positiveInt.default(30_000),
  LLM_PROVIDER: z.enum(['local', 'openai']).optional(),
  EMBEDDING_PROVIDER: z.enum(['local', 'openai']).optional(),
  OPENAI_BASE_URL: optionalString,
  OPENAI_API_KEY: optionalString,
  LLM_MODEL: z.string().default('gpt-4o-mini'),
  LLM_TIMEOUT_MS: positiveInt.default(30_000),
  EMBEDDING_MODEL: z.string().default('text-embedding-3-small'),
  EMBEDDING_DIMENSIONS: positiveInt.default(256),
  CHAT_SYNC_RESPONSES: bool.default(false),
  CHAT_SYNC_TIMEOUT_MS: positiveInt.default(25_000),
  CHAT_MESSAGE_MAX_CHARS: positiveInt.default(20_000),
  CHAT_REDELIVERY_AFTER_MS: positiveInt.default(30_000),
  CHAT_MAX_PENDING_PER_THREAD: positiveInt.default(50),
  REDELIVERY_AFTER_MS: positiveInt.default(REDELIVERY_DEFAULTS.afterMs),
  EVIDENCE_MAX_CHARS: positiveInt.default(EVIDENCE_DEFAULTS.maxChars),
  SIGNAL_EXTRACTION_MAX_MESSAGES: positiveInt.default(20),
  SIGNAL_EXTRACTION_MAX_CHARS: positiveInt.default(20_000),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(120),
  IDEMPOTENCY_STALE_MS: positiveInt.default(5 * 60 * 1000),
  PROGRESS_STREAMS_PER_USER: positiveInt.default(10),
  SEARCH_RATE_LIMIT_PER_MINUTE: positiveInt.default(SEARCH_DEFAULTS.rateLimitPerMinute),
  SEARCH_MAX_VECTORS: positiveInt.default(SEARCH_DEFAULTS.maxVectors),
  SEARCH_MAX_VECTOR_BYTES: positiveInt.default(SEARCH_DEFAULTS.maxVectorBytes),
  SEARCH_VECTOR_CACHE_BYTES: positiveInt.default(SEARCH_DEFAULTS.vectorCacheBytes),
  SEARCH_FULLTEXT_MAX_RANKED: z.coerce.number().int().nonnegative().default(SEARCH_DEFAULTS.maxRanked),
  EMBEDDED_PG_IDLE_IN_TRANSACTION_MS: positiveInt.default(30_000),
  CASEWORK_SCHEDULES: z.enum(['on', 'off']).default('on'),
  SCHEDULES_TIME_ZONE: z.string().min(1).default('UTC'),
  SCHEDULES_CATCHUP_WINDOW_MS: positiveInt.default(60 * 60 * 1000),
  EVENTS_RETENTION_DAYS: positiveInt.default(HOUSEKEEPING_DEFAULTS.eventsRetentionDays),
  EVENTS_AUDIT_TYPES: z.string().default(HOUSEKEEPING_DEFAULTS.auditEventTypes.join(',')),
  WORKING_VIEWS_REFRESH_EVERY_MS: z.coerce.number().int().min(10_000).default(HOUSEKEEPING_DEFAULTS.workingViewsRefreshEveryMs),
  SIGNAL_MERGE_SIMILARITY: unitInterval.default(SIGNAL_MAINTENANCE_DEFAULTS.mergeSimilarity),
  SIGNAL_HALF_LIFE_DAYS: z.coerce.number().positive().default(SIGNAL_MAINTENANCE_DEFAULTS.halfLifeDays),
  SIGNAL_ARCHIVE_BELOW: unitInterval.default(SIGNAL_MAINTENANCE_DEFAULTS.archiveBelow),
  SIGNAL_HOT_DAYS: z.coerce.number().positive().default(SIGNAL_MAINTENANCE_DEFAULTS.hotDays),
  SIGNAL_WARM_DAYS: z.coerce.number().positive().default(SIGNAL_MAINTENANCE_DEFAULTS.warmDays),
  SIGNAL_WARM_REFERENCES: positiveInt.default(SIGNAL_MAINTENANCE_DEFAULTS.warmReferences),
  SIGNAL_CONSOLIDATION_RECENT_DAYS: positiveInt.default(SIGNAL_MAINTENANCE_DEFAULTS.recentDays),
  SIGNAL_CONSOLIDATION_MIN_SIGNALS: positiveInt.default(SIGNAL_MAINTENANCE_DEFAULTS.minActiveSignals),
  SIGNAL_CONSOLIDATION_CONCURRENCY: positiveInt.max(100).default(SIGNAL_MAINTENANCE_DEFAULTS.concurrency),
  SIGNAL_CONSOLIDATION_SCOPES_PER_RUN: positiveInt.max(5_000).default(SIGNAL_MAINTENANCE_DEFAULTS.scopesPerRun),
  SIGNAL_MAINTENANCE_BATCH_SIZE: positiveInt.max(5_000).default(SIGNAL_MAINTENANCE_DEFAULTS.batchSize),
  BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  DOCUMENT_MAX_BYTES: positiveInt.default(DOCUMENT_DEFAULTS.maxBytes),
  CHUNK_TOKENS: positiveInt.default(DOCUMENT_DEFAULTS.chunkTokens),
  CHUNK_OVERLAP_TOKENS: z.coerce.number().int().min(0).default(DOCUMENT_DEFAULTS.chunkOverlapTokens),
  EMBED_BATCH_SIZE: positiveInt.default(DOCUMENT_DEFAULTS.embedBatchSize),
  DOCUMENT_EVIDENCE_MAX: z.coerce.number().int().min(0).max(DOCUMENT_EVIDENCE_MAX_LIMIT).default(DOCUMENT_DEFAULTS.evidenceMax),
  BRIEF_DEBOUNCE_MS: positiveInt.default(BRIEF_DEFAULTS.debounceMs),
  BRIEF_MAX_WAIT_MS: positiveInt.default(BRIEF_DEFAULTS.maxWaitMs),
  BRIEF_IDLE_CLOSE_MS: positiveInt.default(BRIEF_DEFAULTS.idleCloseMs),
  BRIEF_STALE_EVIDENCE_DAYS: positiveInt.default(BRIEF_DEFAULTS.staleEvidenceDays),
  DOCUMENT_PARSE_THREADS: positiveInt.max(64).default(DOCUMENT_DEFAULTS.parseThreads),
  DOCUMENT_PARSE_DEADLINE_MS: positiveInt.default(DOCUMENT_DEFAULTS.parseDeadlineMs),
  CASEWORK_QUEUE_PREFIX: z.string().default(''),
  WORKER_QUEUES: z.string().default(QUEUE_KINDS.join(',')),
  WORKER_SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  CASEWORK_DEV_API_KEY: z.string().min(16).default('cw_dev_0123456789abcdef'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  FETCH_ALLOWED_PORTS: z.string().default('80,443'),
  FETCH_ALLOW_PRIVATE_RANGES: z.string().default(''),
  FETCH_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),
  FETCH_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  FETCH_TOTAL_TIMEOUT_MS: positiveInt.default(30_000),
  FETCH_MAX_BYTES: positiveInt.default(5 * 1024 * 1024),
  FETCH_ALLOWED_CONTENT_TYPES: z.string().default('text/html,application/xhtml+xml,text/plain,text/markdown,application/pdf'),
  FETCH_USER_AGENT: optionalString,
  RESEARCH_BUDGET_TOKENS: positiveInt.default(RESEARCH_DEFAULTS.budgetTokens),
  RESEARCH_MAX_ITERATIONS: positiveInt.max(50).default(RESEARCH_DEFAULTS.maxIterations),
  RESEARCH_STALL_ROUNDS: positiveInt.default(RESEARCH_DEFAULTS.stallRounds),
  RESEARCH_CONTEXT_TOKENS: positiveInt.default(RESEARCH_DEFAULTS.contextTokens),
  RESEARCH_SEARCH_URL: optionalString.pipe(z.string().url().optional()),
  RESEARCH_RESULTS_PER_QUERY: positiveInt.max(50).default(RESEARCH_DEFAULTS.resultsPerQuery),
  RESEARCH_SEARCH_TIMEOUT_MS: positiveInt.default(RESEARCH_DEFAULTS.searchTimeoutMs),
});

export interface Config {
  port: number;
  host: string;
  temporal: {
    address: string;
    /** False when `address` is only the default (an envconfig profile may then name one). */
    addressGiven: boolean;
    namespace: string;
    namespaceGiven: boolean;
    apiKey?: string;
    tls: boolean;
    profile?: string;
    uiPort: number;
  };
  database: {
    /** undefined: the embedded PostgreSQL on `embeddedPort`. */
    url?: string;
    embeddedPort: number;
    poolMax: number;
    connectTimeoutS: number;
    statementTimeoutMs: number;
  };
  llm: {
    provider: 'local' | 'openai';
    embeddingProvider: 'local' | 'openai';
    baseUrl?: string;
    apiKey?: string;
    model: string;
    timeoutMs: number;
    embeddingModel: string;
    embeddingDimensions: number;
  };
  chat: {
    syncResponses: boolean;
    syncTimeoutMs: number;
    messageMaxChars: number;
    /** A user message still pending after this long is re-sent to its conversation. */
    redeliveryAfterMs: number;
    /** More pending user messages than this in one thread: 429. */
    maxPendingPerThread: number;
  };
  redelivery: RedeliveryConfig;
  evidence: EvidenceConfig;
  /** The range chat step 5 (signal extraction) reads in one LLM call. */
  signalExtraction: { maxMessages: number; maxChars: number };
  /** Starting POSTs per authenticated user per minute. */
  rateLimitPerMinute: number;
  /** An `Idempotency-Key` claim in flight longer than this belongs to a gateway that died: it is taken over. */
  idempotencyStaleMs: number;
  /** Progress streams one user may hold open on one gateway. */
  progressStreamsPerUser: number;
  search: SearchConfig;
  /** The embedded database terminates a connection idle in a transaction longer than this. */
  embeddedIdleInTransactionMs: number;
  schedules: { enabled: boolean; timeZone: string; catchupWindowMs: number };
  housekeeping: HousekeepingConfig;
  signalMaintenance: SignalMaintenanceConfig;
  bodyLimitBytes: number;
  documents: DocumentConfig;
  brief: BriefConfig;
  /** CASEWORK_QUEUE_PREFIX as given: queue names and schedule ids start with it. */
  queuePrefix: string;
  queues: Record<QueueKind, string>;
  workerQueues: QueueKind[];
  workerShutdownGraceMs: number;
  devApiKey: string;
  logLevel: string;
  fetch: FetchConfig;
  research: ResearchConfig;
}

/** The URL fetcher's limits (activities/web; README: Configuration). */
export interface FetchConfig {
  /** Ports a URL or a redirect may use; a URL without one uses its scheme's (80, 443), which must be listed too. */
  allowedPorts: number[];
  /** Address ranges (CIDR) exempt from the inward-address guard, e.g. 127.0.0.0/8 in tests; empty in production. */
  allowPrivateRanges: string[];
  maxRedirects: number;
  /** Per hop, until the response headers arrive; also the longest silence between two body chunks. */
  headersTimeoutMs: number;
  /** The whole fetch: every hop and the body. */
  totalTimeoutMs: number;
  /** Decoded body bytes, counted while streaming (a compression bomb stops here). */
  maxBytes: number;
  allowedContentTypes: string[];
  userAgent: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The task queue names for a prefix: `${prefix}chat`, `${prefix}ingest`, ... */
export function queueNames(prefix: string): Record<QueueKind, string> {
  return Object.fromEntries(QUEUE_KINDS.map((k) => [k, `${prefix}${k}`])) as Record<QueueKind, string>;
}

/** The connection string of the embedded PostgreSQL (PGlite ignores the database name). */
export function embeddedDatabaseUrl(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.BRIEF_MAX_WAIT_MS < e.BRIEF_DEBOUNCE_MS) {
    throw new ConfigError(`invalid configuration: BRIEF_MAX_WAIT_MS (${e.BRIEF_MAX_WAIT_MS}) must be at least BRIEF_DEBOUNCE_MS (${e.BRIEF_DEBOUNCE_MS})`);
  }
  if (e.SIGNAL_WARM_DAYS < e.SIGNAL_HOT_DAYS) {
    throw new ConfigError(`invalid configuration: SIGNAL_WARM_DAYS (${e.SIGNAL_WARM_DAYS}) must be at least SIGNAL_HOT_DAYS (${e.SIGNAL_HOT_DAYS})`);
  }
  if (e.CHUNK_OVERLAP_TOKENS >= e.CHUNK_TOKENS) {
    throw new ConfigError(`invalid configuration: CHUNK_OVERLAP_TOKENS (${e.CHUNK_OVERLAP_TOKENS}) must be smaller than CHUNK_TOKENS (${e.CHUNK_TOKENS})`);
  }
  const workerQueues = parseWorkerQueues(e.WORKER_QUEUES);
  const hasKey = e.OPENAI_API_KEY !== undefined;
  return {
    port: e.PORT,
    host: e.HOST,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.TEMPORAL_PORT}`,
      addressGiven: e.TEMPORAL_ADDRESS !== undefined,
      namespace: e.TEMPORAL_NAMESPACE ?? 'default',
      namespaceGiven: e.TEMPORAL_NAMESPACE !== undefined,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS ?? e.TEMPORAL_API_KEY !== undefined,
      profile: e.TEMPORAL_PROFILE,
      uiPort: e.TEMPORAL_UI_PORT,
    },
    database: {
      url: e.DATABASE_URL,
      embeddedPort: e.CASEWORK_EMBEDDED_PG_PORT,
      poolMax: e.DB_POOL_MAX,
      connectTimeoutS: e.DB_CONNECT_TIMEOUT_S,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    },
    llm: {
      provider: e.LLM_PROVIDER ?? (hasKey ? 'openai' : 'local'),
      embeddingProvider: e.EMBEDDING_PROVIDER ?? (hasKey ? 'openai' : 'local'),
      baseUrl: e.OPENAI_BASE_URL,
      apiKey: e.OPENAI_API_KEY,
      model: e.LLM_MODEL,
      timeoutMs: e.LLM_TIMEOUT_MS,
      embeddingModel: e.EMBEDDING_MODEL,
      embeddingDimensions: e.EMBEDDING_DIMENSIONS,
    },
    chat: {
      syncResponses: e.CHAT_SYNC_RESPONSES,
      syncTimeoutMs: e.CHAT_SYNC_TIMEOUT_MS,
      messageMaxChars: e.CHAT_MESSAGE_MAX_CHARS,
      redeliveryAfterMs: e.CHAT_REDELIVERY_AFTER_MS,
      maxPendingPerThread: e.CHAT_MAX_PENDING_PER_THREAD,
    },
    redelivery: { afterMs: e.REDELIVERY_AFTER_MS },
    evidence: { maxChars: e.EVIDENCE_MAX_CHARS },
    signalExtraction: { maxMessages: e.SIGNAL_EXTRACTION_MAX_MESSAGES, maxChars: e.SIGNAL_EXTRACTION_MAX_CHARS },
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    idempotencyStaleMs: e.IDEMPOTENCY_STALE_MS,
    progressStreamsPerUser: e.PROGRESS_STREAMS_PER_USER,
    search: {
      rateLimitPerMinute: e.SEARCH_RATE_LIMIT_PER_MINUTE,
      maxVectors: e.SEARCH_MAX_VECTORS,
      maxVectorBytes: e.SEARCH_MAX_VECTOR_BYTES,
      vectorCacheBytes: e.SEARCH_VECTOR_CACHE_BYTES,
      maxRanked: e.SEARCH_FULLTEXT_MAX_RANKED,
    },
    embeddedIdleInTransactionMs: e.EMBEDDED_PG_IDLE_IN_TRANSACTION_MS,
    schedules: {
      enabled: e.CASEWORK_SCHEDULES === 'on',
      timeZone: e.SCHEDULES_TIME_ZONE,
      catchupWindowMs: e.SCHEDULES_CATCHUP_WINDOW_MS,
    },
    housekeeping: {
      eventsRetentionDays: e.EVENTS_RETENTION_DAYS,
      auditEventTypes: listOf('EVENTS_AUDIT_TYPES', e.EVENTS_AUDIT_TYPES, (t) => (EVENT_TYPES as readonly string[]).includes(t), `event types (${EVENT_TYPES.join(', ')})`, true),
      workingViewsRefreshEveryMs: e.WORKING_VIEWS_REFRESH_EVERY_MS,
    },
    signalMaintenance: {
      mergeSimilarity: e.SIGNAL_MERGE_SIMILARITY,
      halfLifeDays: e.SIGNAL_HALF_LIFE_DAYS,
      archiveBelow: e.SIGNAL_ARCHIVE_BELOW,
      hotDays: e.SIGNAL_HOT_DAYS,
      warmDays: e.SIGNAL_WARM_DAYS,
      warmReferences: e.SIGNAL_WARM_REFERENCES,
      recentDays: e.SIGNAL_CONSOLIDATION_RECENT_DAYS,
      minActiveSignals: e.SIGNAL_CONSOLIDATION_MIN_SIGNALS,
      concurrency: e.SIGNAL_CONSOLIDATION_CONCURRENCY,
      scopesPerRun: e.SIGNAL_CONSOLIDATION_SCOPES_PER_RUN,
      batchSize: e.SIGNAL_MAINTENANCE_BATCH_SIZE,
    },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    documents: {
      maxBytes: e.DOCUMENT_MAX_BYTES,
      chunkTokens: e.CHUNK_TOKENS,
      chunkOverlapTokens: e.CHUNK_OVERLAP_TOKENS,
      embedBatchSize: e.EMBED_BATCH_SIZE,
      parseThreads: e.DOCUMENT_PARSE_THREADS,
      parseDeadlineMs: e.DOCUMENT_PARSE_DEADLINE_MS,
      evidenceMax: e.DOCUMENT_EVIDENCE_MAX,
    },
    brief: {
      debounceMs: e.BRIEF_DEBOUNCE_MS,
      maxWaitMs: e.BRIEF_MAX_WAIT_MS,
      idleCloseMs: e.BRIEF_IDLE_CLOSE_MS,
      staleEvidenceDays: e.BRIEF_STALE_EVIDENCE_DAYS,
    },
    queuePrefix: e.CASEWORK_QUEUE_PREFIX,
    queues: queueNames(e.CASEWORK_QUEUE_PREFIX),
    workerQueues,
    workerShutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
    devApiKey: e.CASEWORK_DEV_API_KEY,
    logLevel: e.LOG_LEVEL,
    fetch: fetchConfig(e),
    research: {
      budgetTokens: e.RESEARCH_BUDGET_TOKENS,
      maxIterations: e.RESEARCH_MAX_ITERATIONS,
      stallRounds: e.RESEARCH_STALL_ROUNDS,
      contextTokens: e.RESEARCH_CONTEXT_TOKENS,
      searchUrl: e.RESEARCH_SEARCH_URL,
      resultsPerQuery: e.RESEARCH_RESULTS_PER_QUERY,
      searchTimeoutMs: e.RESEARCH_SEARCH_TIMEOUT_MS,
    },
  };
}

function fetchConfig(e: z.infer<typeof envSchema>): FetchConfig {
  const isPort = (p: string) => /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65_535;
  const isMediaType = (t: string) => /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(t);
  return {
    allowedPorts: listOf('FETCH_ALLOWED_PORTS', e.FETCH_ALLOWED_PORTS, isPort, 'ports 1-65535').map(Number),
    allowPrivateRanges: listOf('FETCH_ALLOW_PRIVATE_RANGES', e.FETCH_ALLOW_PRIVATE_RANGES, isAddressRange, 'addresses or CIDR ranges', true),
    maxRedirects: e.FETCH_MAX_REDIRECTS,
    headersTimeoutMs: e.FETCH_HEADERS_TIMEOUT_MS,
    totalTimeoutMs: e.FETCH_TOTAL_TIMEOUT_MS,
    maxBytes: e.FETCH_MAX_BYTES,
    allowedContentTypes: listOf('FETCH_ALLOWED_CONTENT_TYPES', e.FETCH_ALLOWED_CONTENT_TYPES.toLowerCase(), isMediaType, 'media types'),
    userAgent: e.FETCH_USER_AGENT ?? `casework/${packageJson.version} (+url-ingestion)`,
  };
}

/** `10.0.0.0/8`, `fd00::/8`, or one address. */
function isAddressRange(item: string): boolean {
  const [address = '', prefix, ...rest] = item.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

function listOf(key: string, raw: string, valid: (item: string) => boolean, what: string, mayBeEmpty = false): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const invalid = items.filter((item) => !valid(item));
  if (invalid.length > 0 || (items.length === 0 && !mayBeEmpty)) {
    throw new ConfigError(`${key}: expected comma-separated ${what}, got "${raw}"${invalid.length ? ` (not valid: ${invalid.join(', ')})` : ''}`);
  }
  return items;
}

function parseWorkerQueues(raw: string): QueueKind[] {
  const kinds = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = kinds.filter((k) => !(QUEUE_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0 || kinds.length === 0) {
    throw new ConfigError(`WORKER_QUEUES: expected a comma-separated subset of ${QUEUE_KINDS.join(',')}, got "${raw}"`);
  }
  return kinds as QueueKind[];
}

/** The database URL a process should use: the configured server, or the embedded one. */
export function databaseUrl(config: Config): string {
  return config.database.url ?? embeddedDatabaseUrl(config.database.embeddedPort);
}

export function assertOpenAiConfigured(config: Config): void {
  const needsKey = config.llm.provider === 'openai' || config.llm.embeddingProvider === 'openai';
  if (needsKey && !config.llm.apiKey) {
    throw new ConfigError('LLM_PROVIDER/EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY');
  }
}

/** The slice of the config activities get (Decision 16): they never read the environment. */
export function activityConfigOf(config: Config) {
  return {
    queues: config.queues,
    chat: { redeliveryAfterMs: config.chat.redeliveryAfterMs },
    redelivery: config.redelivery,
    documents: config.documents,
    fetch: config.fetch,
    signalExtraction: config.signalExtraction,
    brief: config.brief,
    housekeeping: config.housekeeping,
    signalMaintenance: config.signalMaintenance,
    search: config.search,
    research: config.research,
  };
}
