/**
 * Inputs, outputs and error type names shared by workflows, activities and the gateway.
 * Pure TypeScript (type imports only), so both the workflow sandbox and Node can load it.
 */
import type { AgentDescriptor } from './agents/catalog.js';

/** Every `ApplicationFailure.type` casework throws. */
export type ErrorType =
  | 'ValidationError'
  | 'NotFound'
  | 'LlmBadRequest'
  | 'LlmAuthError'
  | 'LlmOutputInvalid'
  | 'LlmTransient'
  /** The database refused the statement for good (integrity, data, syntax): never retried. */
  | 'DatabaseError'
  /** The database could not be reached (refused, reset, restarting, too many connections): retried. */
  | 'DatabaseUnavailable'
  /** Any other database failure (serialization, deadlock, a timeout): retried. */
  | 'DatabaseTransient'
  | 'Cancelled'
  | 'UnknownWorkflow'
  /** A document with nothing to read: no extractable text, an encrypted or unreadable PDF. */
  | 'DocumentUnreadable'
  /** A bounded workflow ran past its in-workflow time limit (Decision 2). */
  | 'TimeLimitExceeded'
  /** A URL refused before any request: its address (loopback, private, metadata...) or its port. */
  | 'UrlBlocked'
  /** A URL that does not parse, is not http(s), or carries credentials. */
  | 'UrlInvalid'
  /** Fetching a URL met network trouble, a timeout, 408, 429 or 5xx: retried. */
  | 'FetchTransient'
  /** The server's answer is final and unusable: another 4xx, too many redirects, a bad encoding. */
  | 'FetchRejected'
  /** A fetched body of a type (or charset) we do not read. */
  | 'ContentTypeNotAllowed'
  /** A fetched body larger than FETCH_MAX_BYTES, decoded. */
  | 'BodyTooLarge'
  /** A brief evolution met an error no retry heals (neither the database's nor the model's transient ones). */
  | 'BriefEvolutionFailed'
  /** A model call refused before it ran: it would pass the workflow's token budget (activities/budget.ts). */
  | 'BudgetExhausted'
  /** An agent or case draft the catalog cannot start (unknown type, a thread that has a case already). */
  | 'AgentNotStartable'
  /** A seed name that starts nothing any more (`extract_document_signals_workflow`): its failure carries the pointer. */
  | 'AgentRemoved';

export interface QueueNames {
  chat: string;
  ingest: string;
  research: string;
  maintenance: string;
}

/** What the gateway signals for each user message. */
export interface NewMessage {
  messageId: string;
  /** The thread's user turn number this message is (1-based). */
  turn: number;
  /** Characters in the message: drives batched signal extraction. */
  chars: number;
}

/** Counters a conversation carries across replies and continue-as-new. */
export interface ConversationState {
  /** Highest user turn answered so far. */
  answeredTurn: number;
  turnsSinceExtraction: number;
  charsSinceExtraction: number;
  hasTitle: boolean;
  /** Recently settled message ids, so a re-sent signal is not answered twice. */
  recentMessageIds: string[];
  /**
   * Whether the thread may have a pending suggestion (step 1 only runs then): unknown
   * (undefined) in a fresh run, then what the last reply saw and steps 2 and 6 made.
   */
  suggestionPending?: boolean;
  /**
   * True once step 3 found nothing to post and no signal arrived since: the rules read only
   * the thread's signals, the evidence linked to them and what they posted, so they would
   * find nothing again.
   */
  interventionsIdle?: boolean;
  /**
   * New evidence reached the case (`evidenceAdded`) since step 3 last started: the step runs
   * again, and one whose rules ran while it arrived does not go idle (they may have read the
   * case before its links were there).
   */
  evidenceArrived?: boolean;
}

export interface ConversationInput {
  threadId: string;
  userId: string;
  caseId?: string;
  queues: QueueNames;
  /** Messages signalled but not yet answered (continue-as-new carries them). */
  pending?: NewMessage[];
  state?: ConversationState;
  /** Close the run after this long with nothing to answer; the next message starts a new one. */
  idleTimeoutMs?: number;
  /** Continue as new after this many replies (the server may suggest it sooner). */
  maxTurnsPerRun?: number;
  /** How long a turn holds while the database is unreachable (tests shorten it). */
  outageHoldMs?: number;
  /** Fixture agents for tests (Decision 15); absent: the static catalog. */
  agents?: AgentDescriptor[];
}

export interface Degradation {
  step: string;
  error: string;
}

/** What settling a batch did: every id of the request is answered now, or skipped. */
export interface SettleResult {
  /** Ids of the request answered now, by this call's reply or by an earlier one. */
  answered: string[];
  /** Ids that no reply will answer: unknown, or failed before any reply (nothing to do). */
  skipped: string[];
}

/** What chat step 5 did with the range it read (activities/signals.ts). */
export interface SignalExtractionResult {
  /** The signals the range created: a detached run embeds them. */
  signalIds: string[];
  /** The range's end: the thread's extraction cursor now (it names the embedding run). */
  cursor: number;
  /** Set when the model's answer for the range could never be used: the cursor moved past it anyway, and this says why. */
  failed?: string;
}

export interface ReplyResult extends SettleResult {
  /** The reply this call wrote; null when every id was settled before (a retried task). */
  replyId: string | null;
  status: 'complete' | 'failed';
  hasTitle: boolean;
  /** Whether the thread has a suggestion waiting for a "yes" (step 1 runs only then). */
  suggestionPending: boolean;
  /** The thread's case as the reply saw it: a run started before an attach learns it here. */
  caseId?: string | null;
}

/** Every workflow that does bounded work takes this: its own time limit, shorter in tests. */
export interface BoundedWorkInput {
  /** Default TASK_TIME_LIMIT (the seed's 30 minutes), enforced in the workflow (Decision 2). */
  timeLimitMs?: number;
}

/**
 * What every agent of the catalog takes (Decision 29), started by the one start
 * (activities/agents/start.ts) after its `agent_runs` row and placeholder were committed.
 */
export interface AgentInput extends BoundedWorkInput {
  caseId: string;
  /** What to look at (the route's `topic`, or its older name `focus`; a "yes" takes the suggestion's). */
  topic?: string;
  /** The thread its placeholder is in: the one named, or the case's activity thread (Decision 23). */
  threadId?: string;
  /** LLM tokens the run may spend. */
  budgetTokens?: number;
  /** Rounds of the agent's loop at most (research: Search → Extract → Evaluate). */
  maxIterations?: number;
  /** Record each step's inputs, outputs, sources, tokens and latency as rows (research's trajectory). */
  recordTrajectory?: boolean;
  userId: string;
  correlationId: string;
  /** The `assistant` message with `metadata.kind = 'agent-progress'` the agent keeps current. */
  placeholderMessageId: string;
  queues: QueueNames;
}

/** What a research run continued as new carries (ids and small JSON: the text stays in Postgres). */
export interface ResearchCarry {
  questions: string[];
  /** The next round's queries. */
  queries: string[];
  /** Every query searched so far (bounded). */
  searched: string[];
  /** The last round finished. */
  iteration: number;
  stallRounds: number;
  sourceIds: string[];
  findingIds: string[];
  dropped: Record<string, number>;
  providers: string[];
  notes: string[];
  /** What the earlier runs found, in words (the handoff summary). */
  handoff: string;
  /** Runs so far (1 for the first). */
  runs: number;
  /** The tokens each phase cost last (the budget's estimate of the next). */
  phaseCost: Record<string, number>;
}

/** researchAgent's input: the agent input, and what a continued run carries. */
export interface ResearchInput extends AgentInput {
  /** Absolute deadline (ms since epoch) across continue-as-new; set by the first run from `timeLimitMs`. */
  deadlineAt?: number;
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
  /** Stall rounds and context tokens over the config's (tests). */
  stallRounds?: number;
  contextTokens?: number;
  carry?: ResearchCarry;
}

/** What the `researchProgress` query answers. */
export interface ResearchProgress {
  phase: string;
  iteration: number;
  sources: number;
  findings: number;
  tokensSpent: number;
  runs: number;
}

export interface ResearchResult {
  artifactId: string;
  version: number;
  stopReason: string;
  findings: number;
  evidence: number;
}

/** The kinds of an inquiry's document (activities/db/schema/inquiries.ts `INQUIRY_KINDS`). */
export type InquiryKindName = 'research' | 'debate' | 'critique';

/** The workflow type of each kind (Phase 2B inquiries, queue `research`). */
export const INQUIRY_WORKFLOW_TYPES = { research: 'inquiryResearch', debate: 'inquiryDebate', critique: 'inquiryCritique' } as const;

/** What an inquiry's run takes: the kind is the workflow's own, repeated so one start serves all three. */
export interface InquiryInput extends BoundedWorkInput {
  inquiryId: string;
  kind: InquiryKindName;
  caseId: string;
  userId: string;
  correlationId: string;
  queues: QueueNames;
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
}

export interface InquiryResult {
  inquiryId: string;
  kind: InquiryKindName;
  version: number;
  documentId: string;
  findings: number;
  citations: number;
}

/** What critiqueAgent and briefAgent answer (issue 20; they take `ResearchInput`: the agent input and research's loop carry). */
export interface ReviewResult {
  artifactId: string;
  version: number;
  stopReason: string;
  findings: number;
  /** The critique's issues (0 for a brief). */
  issues: number;
  citations: number;
}

/**
 * draftCaseWorkflow (queue `chat`, id `draft-case-<threadId>`): drafts a case from a thread
 * with no case, then starts every agent accepted in that thread meanwhile (Decision 23).
 */
export interface DraftCaseInput extends BoundedWorkInput {
  threadId: string;
  userId: string;
  correlationId: string;
  queues: QueueNames;
  /** Fixture agents for tests (Decision 15), to start the held agents with; absent: the static catalog. */
  agents?: AgentDescriptor[];
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
}

export interface DraftCaseResult {
  caseId: string;
  /** False when the thread had a case already (drafted by an earlier run, or attached): nothing was drafted. */
  drafted: boolean;
  /** The agents this run started on the case (their workflow ids). */
  agentsStarted: string[];
}

/** A request to a draft: a suggestion accepted in its thread (the run reads what it holds from the database). */
export interface DraftRequest {
  suggestionId?: string;
}

/** The messages, or the document, an on-demand extraction reads (Decision 22: a document's signals are the case's). */
export type SignalSource =
  | { kind: 'messages'; threadId: string; messageIds: string[] }
  | { kind: 'document'; documentId: string };

/**
 * extractSignalsWorkflow (queue `ingest`, id `extract-signals-<threadId or documentId>-<hash>`):
 * signals extracted on demand, in bounded batches, each batch once (its event's key).
 */
export interface ExtractSignalsInput extends BoundedWorkInput {
  caseId: string;
  userId: string;
  /** One per request: it names the embedding runs the batches start (the same in every run of the request). */
  correlationId: string;
  source: SignalSource;
  queues: QueueNames;
  /** Where the previous run stopped (continue-as-new carries it): the last item it read. */
  after?: number;
  /** Totals of the runs before (continue-as-new carries them). */
  totals?: ExtractSignalsResult;
  /** Continue as new after this many batches (tests shorten it). */
  batchesPerRun?: number;
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
}

export interface ExtractSignalsResult {
  batches: number;
  /** Signals the extraction created (a signal found again counts a reference, not a signal). */
  created: number;
  /** Batches whose answer could never be used: moved past, each recorded with why. */
  skipped: number;
}

/** One batch of an on-demand extraction. */
export interface SignalBatchResult {
  /** Signals this batch created: an embedding run is started for them. */
  signalIds: string[];
  /** The last item (message seq, chunk ordinal) it read: where the next batch starts; null when nothing was left. */
  last: number | null;
  failed?: string;
}

/** An agent run's status, as `claimAgentRun` found it. */
export interface AgentRunStatusReport {
  status: 'pending' | 'running' | 'completed' | 'failed';
}

/** `metadata.kind` of an agent's placeholder: it answers no user message, so chat's history and invariants leave it out. */
export const AGENT_PROGRESS_KIND = 'agent-progress';

/**
 * The kinds of row the redelivery job hands over again (Decision 31), each in its own
 * activity: user messages their conversation has not seen, documents, evidence and agent
 * runs left `pending`. Their order is the order of the job's commands.
 */
export const PENDING_KINDS = ['messages', 'documents', 'evidence', 'agentRuns'] as const;
export type PendingKindName = (typeof PENDING_KINDS)[number];
/** The kinds swept by runs recorded before agent runs were (`MAINTENANCE_PATCHES.redeliverAgentRuns`). */
export const PENDING_KINDS_BEFORE_AGENT_RUNS: readonly PendingKindName[] = ['messages', 'documents', 'evidence'];

/** The redelivery job's input (the schedule `<prefix>chat-redelivery` starts it every minute). */
export interface RedeliverMessagesInput extends BoundedWorkInput {
  queues: QueueNames;
  /** Pending rows read per page (default 100). */
  pageSize?: number;
  /**
   * Per kind, start after this row. Absent: where the schedule's previous run stopped at its
   * time budget (its result's `resumeAfter` of that kind), or else at the oldest pending row.
   */
  resumeAfter?: Partial<Record<PendingKindName, RedeliveryCursor>>;
}

/**
 * A row of one kind's pass, in its keyset order: created_at, then `seq` (messages) or `id`
 * (documents, evidence).
 */
export interface RedeliveryCursor {
  /** The row's created_at as PostgreSQL renders it in UTC, to the microsecond. */
  createdAt: string;
  seq?: number;
  id?: string;
}

/** What one redelivery run did for one kind. */
export interface PendingKindReport {
  /** Rows still pending past the kind's grace time when looked at (for messages: of the threads handled). */
  examined: number;
  /** Of those, the ones handed over again (a message its conversation had not seen; a document with no open run; an item). */
  resent: number;
  /** Units handled: a thread for messages (asked once, its unseen messages re-sent), a row for documents and evidence. */
  units: number;
  /** Units whose check or hand-over failed (not in the counts above): the run went on, and a later run tries them again. */
  failedUnits: number;
  /** False when the run stopped at its time budget before it had read every pending row, or the kind failed as a whole. */
  complete: boolean;
  /** When stopped at the budget: the last row it handled, where the next run goes on. */
  resumeAfter?: RedeliveryCursor;
  /** Why the kind failed as a whole (its activity gave up): the other kinds went on, and the next run starts it again. */
  error?: string;
}

/**
 * What one redelivery run did, per kind. Runs recorded before documents and evidence were
 * swept returned the messages' report alone, as `{ examined, resent, threads, failedThreads,
 * complete, resumeAfter? }` (and before issue 16, the first three).
 */
export type RedeliveryReport = Record<PendingKindName, PendingKindReport>;

export interface GenerateSignalEmbeddingsInput extends BoundedWorkInput {
  signalIds: string[];
  threadId?: string;
}

/** processDocument (queue `ingest`, id `document-<documentId>`): ids only, the text lives in Postgres. */
export interface ProcessDocumentInput extends BoundedWorkInput {
  documentId: string;
  caseId: string;
  userId: string;
  correlationId?: string;
  queues: QueueNames;
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
}

/**
 * What a processed document came to; a failure fails the run instead (the document says why).
 * `skipped`: the run found the document not waiting for one (a start repeated after the run
 * it repeats had ended) and did nothing; the value is the status it found.
 */
export type ProcessDocumentResult =
  | { documentId: string; pages: number | null; characters: number; chunks: number; evidence?: DocumentEvidenceOutcome }
  | { documentId: string; skipped: 'pending' | 'processing' | 'completed' | 'failed' };

/**
 * What a completed document gave its case as evidence (best effort: the document is completed
 * either way): the items its passages became and the `ingestEvidence` runs started for them,
 * or why that failed. Absent from runs recorded before documents gave evidence.
 */
export type DocumentEvidenceOutcome = { items: number; started: number } | { failed: string };

/**
 * fetchUrlAndIngest (queue `ingest`, id `url-<caseId>-<sha256(url) first 16 hex>`): a URL in,
 * ids out; the page goes to Postgres, never through history.
 */
export interface FetchUrlAndIngestInput extends BoundedWorkInput {
  caseId: string;
  userId: string;
  /** http(s), as the gateway normalised it (WHATWG form, no fragment): the document's `url`. */
  url: string;
  correlationId?: string;
  queues: QueueNames;
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
}

/** The document the URL became; `created` is false when the case had the same URL with the same content. */
export interface FetchUrlAndIngestResult {
  documentId: string;
  created: boolean;
}

export interface ChatTitleInput {
  threadId: string;
}

/**
 * ingestEvidence (queue `ingest`, id `evidence-<caseId>-<contentHash first 16 hex>`): the
 * item is a row the store committed first (Decision 31); the text stays in Postgres.
 */
export interface IngestEvidenceInput extends BoundedWorkInput {
  evidenceId: string;
  caseId: string;
  userId: string;
  correlationId?: string;
  queues: QueueNames;
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
}

export interface IngestEvidenceResult {
  evidenceId: string;
  links: number;
  contradictions: number;
}

/** What changed in a case since its brief last evolved (one signal each; the brief recomputes from the database). */
export const BRIEF_CHANGE_KINDS = ['evidence-added', 'document-completed', 'signals-extracted', 'thread-attached'] as const;
export type BriefChangeKind = (typeof BRIEF_CHANGE_KINDS)[number];

export interface BriefChange {
  kind: BriefChangeKind;
  /** The evidence, document, thread... the change is about. */
  id: string;
}

/**
 * The changes of one window (or of an evolution that did not happen, carried to the next),
 * bounded whatever their number: every change is counted, a few are named. A burst of
 * thousands is a few hundred bytes in the history and in continue-as-new's input.
 */
export interface BriefChanges {
  /** Every change received. */
  total: number;
  counts: Partial<Record<BriefChangeKind, number>>;
  /** The first distinct changes (BRIEF_CHANGE_SAMPLE at most), for the audit. */
  sample: BriefChange[];
  /** Workflow time (ms) of the window's first and last change; absent while no window is open (carried changes alone open none). */
  firstAt?: number;
  lastAt?: number;
}

/**
 * evolveBrief (queue `ingest`, id `evolve-brief-<caseId>`): one long-lived, debounced
 * workflow per case, fed by signal-with-start of `briefChangedSignal`. The windows come from
 * config through this input (workflows never read config); continue-as-new carries `pending`.
 */
export interface EvolveBriefInput {
  caseId: string;
  userId: string;
  queues: QueueNames;
  /** Quiet time after the last change before the brief evolves (BRIEF_DEBOUNCE_MS). */
  quietMs: number;
  /** The longest a change waits under a steady stream (BRIEF_MAX_WAIT_MS). */
  maxWaitMs: number;
  /** With nothing to do for this long the run closes; the next change starts it again. */
  idleCloseMs: number;
  /** Changes signalled but not yet evolved over (continue-as-new carries them, open window and all). */
  pending?: BriefChanges;
  /** Evolutions so far across continue-as-new. */
  evolutions?: number;
  /** Continue as new after this many evolutions (the server may suggest it sooner; tests shorten it). */
  maxEvolutionsPerRun?: number;
  /** How long a step is held while the database is unreachable (Decision 28; tests shorten it). */
  outageHoldMs?: number;
}

/** One evolution's request: the key makes a retried activity find the version it wrote. */
export interface EvolveCaseBriefRequest {
  caseId: string;
  /** `<workflow id>:<run id>:<ordinal in the run>`: unique per evolution, the same for its retries. */
  evolutionKey: string;
  changes: BriefChanges;
}

export interface EvolveCaseBriefResult {
  version: number;
  grounding: number;
  sectionsUpdated: string[];
  annotationsCreated: number;
  annotationsResolved: number;
}

/** Workflow ids people can read in the Web UI. */
export const workflowIds = {
  conversation: (threadId: string) => `chat-${threadId}`,
  chatTitle: (threadId: string) => `chat-title-${threadId}`,
  signalEmbeddings: (threadId: string, key: string) => `signal-embeddings-${threadId}-${key}`,
  document: (documentId: string) => `document-${documentId}`,
  /** `urlHash`: the sha256 (hex) of the normalised URL; its first 16 hex name the run (Decision 21). */
  url: (caseId: string, urlHash: string) => `url-${caseId}-${urlHash.slice(0, 16)}`,
  /** `contentHash`: the sha256 (hex) of the item's normalised text (Decision 21). */
  evidence: (caseId: string, contentHash: string) => `evidence-${caseId}-${contentHash.slice(0, 16)}`,
  evolveBrief: (caseId: string) => `evolve-brief-${caseId}`,
  /** `hash`: sha256 (hex) of the sorted message ids, or of the document's content hash; its first 16 hex name the run. */
  extractSignals: (scopeId: string, hash: string) => `extract-signals-${scopeId}-${hash.slice(0, 16)}`,
  /**
   * One scope's consolidation for one date (`yyyymmdd` in SCHEDULES_TIME_ZONE): a thread's
   * signals, or a case's own (`consolidate-case-…`), so two children never touch one signal;
   * a dry run's carry `-dry`, so they never stand in for a real run.
   */
  consolidate: (scope: SignalScope, date: string, dryRun: boolean) =>
    `consolidate-${scope.kind === 'case' ? 'case-' : ''}${scope.id}-${date}${dryRun ? '-dry' : ''}`,
  /** A maintenance job started by `POST /v1/admin/maintenance/:job` (Decision 34). */
  /** `<prefix>manual-<job>-20261207T021500123Z`: the start time, readable, unique to the millisecond. */
  /** One kind of one inquiry: a start while it runs joins it; after it closed, a new run writes the next version. */
  inquiry: (kind: InquiryKindName, inquiryId: string) => `inquiry-${kind}-${inquiryId}`,
  manualMaintenance: (prefix: string, job: string, at: Date) => `${prefix}manual-${job}-${at.toISOString().replace(/[-:.]/g, '')}`,
};

/** What one consolidation covers: a thread's signals, or a case's own (no thread). */
export interface SignalScope {
  kind: 'thread' | 'case';
  id: string;
}

/** The signal-maintenance knobs a run carries (from SIGNAL_* config; absent: the activities' config). */
export interface SignalMaintenanceKnobs {
  /** Children in flight at once. */
  concurrency?: number;
  /** Scopes one run starts before it continues as new. */
  scopesPerRun?: number;
  minActiveSignals?: number;
  recentDays?: number;
}

/** Common to the scheduled maintenance jobs (Decision 34): `{ dryRun }` reports and writes nothing else. */
export interface MaintenanceJobInput {
  queues: QueueNames;
  dryRun?: boolean;
  /** SCHEDULES_TIME_ZONE: the date of the run (ids, decay) is taken in it. Absent: UTC. */
  timeZone?: string;
  /** The instant the run is for (epoch ms); absent: the schedule's time, else the run's start. */
  nominalTime?: number;
  timeLimitMs?: number;
  outageHoldMs?: number;
}

export interface ConsolidateThreadSignalsInput {
  queues: QueueNames;
  scope: SignalScope;
  /** `yyyymmdd`, and the instant decay is computed at (that date's midnight UTC). */
  date: string;
  nominalMs: number;
  dryRun?: boolean;
  threadId?: string;
  caseId?: string;
  timeLimitMs?: number;
  outageHoldMs?: number;
}

/** What one scope's consolidation did (or, dry, would do). */
export interface ScopeConsolidation {
  examined: number;
  merged: number;
  decayed: number;
  archived: number;
  embedded: number;
}

export interface ScheduleSignalConsolidationInput extends MaintenanceJobInput, SignalMaintenanceKnobs {
  /** Carried across continue-as-new: */
  date?: string;
  nominalMs?: number;
  /** The absolute deadline of the whole job (epoch ms), set by its first run. */
  deadline?: number;
  startedAt?: number;
  after?: ScopeCursor;
  report?: MaintenanceReport;
}

/** Where the fan-out's scope list goes on: threads by id, then cases by id. */
export interface ScopeCursor {
  kind: 'thread' | 'case';
  afterId: string | null;
}

/** The `MAINTENANCE_REPORT` of a job (event payload and the run's result). */
export interface MaintenanceReport {
  job: 'signal-consolidation' | 'signal-temperatures';
  date: string;
  dryRun: boolean;
  scopesExamined: number;
  signalsExamined: number;
  merged: number;
  decayed: number;
  archived: number;
  retiered: number;
  embedded: number;
  /** Fan-out: children started, found already running (a manual run, say), failed. */
  started: number;
  alreadyRunning: number;
  failed: number;
  /** False when the job's deadline stopped it before every scope or signal was seen. */
  complete: boolean;
  durationMs: number;
}

export const EVOLVE_BRIEF_WORKFLOW_PREFIX = 'evolve-brief-';

export const CONVERSATION_WORKFLOW_PREFIX = 'chat-';

/**
 * Every event type the audit trail records (Decision 20): the seed's table, then ours.
 * Events name their workflow id and run id; their idempotency key is a business key.
 */
export const EVENT_TYPES = [
  // the seed's
  'CONVERSATION_ANALYZED_FOR_AGENT',
  'STRUCTURE_SUGGESTED',
  'WORKFLOW_COMPLETED',
  'EVIDENCE_ADDED',
  'BRIEF_EVOLVED',
  'AGENT_FAILED',
  'RESEARCH_COMPLETED',
  'DOCUMENT_ADDED',
  // casework's
  'SIGNALS_EXTRACTED',
  'CASE_DRAFTED',
  'MAINTENANCE_REPORT',
  // the critique and brief agents' completions (issue 20), keyed by workflow id and version
  'CRITIQUE_COMPLETED',
  'BRIEF_DRAFTED',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

// --- housekeeping (issue 18, the seed's cleanup_old_events and refresh_working_views) ---------

/** `cleanupOldEvents`' input: the schedule's is `{}`; tests shorten batches and holds. */
export interface CleanupOldEventsInput {
  /** Report what would be deleted; delete nothing (the report event is the one write). */
  dryRun?: boolean;
  /** Rows per batch (default 500): one statement and one heartbeat each. */
  batchSize?: number;
  timeLimitMs?: number;
  /** How long an unreachable database is held (Decision 28); default DATABASE_OUTAGE_HOLD_MS. */
  outageHoldMs?: number;
}

/** The tables the cleanup deletes from, one activity call each. */
export const CLEANUP_TABLES = ['events', 'idempotencyKeys', 'runProgress'] as const;
export type CleanupTable = (typeof CLEANUP_TABLES)[number];

export interface CleanupTableReport {
  /** Rows past their age that the cleanup looked at. */
  examined: number;
  /** Deleted (a dry run: would be deleted). */
  deleted: number;
  /** Past their age but kept because their workflow has an open run (events, progress rows). */
  keptOpen: number;
  batches: number;
}

export interface CleanupOldEventsReport {
  dryRun: boolean;
  /** Events created before this instant were candidates (EVENTS_RETENTION_DAYS before the run). */
  cutoff: string;
  events: CleanupTableReport & { /** Events past the retention kept for their type (audit or workflow state), by type. */ keptByType: Record<string, number> };
  idempotencyKeys: CleanupTableReport;
  runProgress: CleanupTableReport;
  durationMs: number;
}

/** The working views `refreshWorkingViews` refreshes, in order (activities/db/schema/working-views.ts): one activity each. */
export const WORKING_VIEWS = ['case_overviews', 'thread_signal_summaries'] as const;
export type WorkingView = (typeof WORKING_VIEWS)[number];

/** `refreshWorkingViews`' input. */
export interface RefreshWorkingViewsInput {
  /** Report the views' rows and when they were refreshed; refresh nothing. */
  dryRun?: boolean;
  timeLimitMs?: number;
  outageHoldMs?: number;
}

export interface WorkingViewReport {
  view: string;
  rows: number;
  /** False on a dry run. */
  refreshed: boolean;
  /** `concurrently` on a PostgreSQL server; `plain` on the embedded database (one backend: nothing runs beside it anyway). */
  mode?: 'concurrently' | 'plain';
  durationMs: number;
  /** When the view's rows were computed (null: never refreshed since it was created empty). */
  refreshedAt: string | null;
}

export interface RefreshWorkingViewsReport {
  dryRun: boolean;
  views: WorkingViewReport[];
  durationMs: number;
}

/** The housekeeping jobs' names: the admin route's `:job`, the report event's `job`. */
export type HousekeepingJob = 'events-cleanup' | 'working-views-refresh';

/** A seed client's start of an agent by its old workflow type (Decision 35), mapped from its positional arguments. */
export interface LegacyAgentStart {
  /** The seed's name the client started (a catalog alias). */
  name: string;
  caseId: string;
  topic?: string;
  userId: string;
  correlationId: string;
  /** v2's `placeholder_message_id`: the caller's own assistant message, adopted as the placeholder. */
  placeholderMessageId?: string;
}

/** What an alias workflow answers: the v2 run it started (or joined), to follow by its id. */
export interface LegacyAgentStarted {
  workflowId: string;
  agentType: string;
  placeholderMessageId: string;
}
