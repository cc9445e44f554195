/**
 * Retry policies and time limits, in one place (DESIGN.md Decision 2). Attempts include
 * the first. Every activity attempt is capped at the seed's 30 minutes.
 */
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/** The seed's global task time limit. */
export const TASK_TIME_LIMIT = '30 minutes';
export const TASK_TIME_LIMIT_MS = 30 * 60_000;

/**
 * An unreachable database is not one of a step's attempts (Decision 28): the activity
 * fails at once and the conversation holds the turn (./outage-hold.ts), so these
 * policies count model and logic failures only.
 */
const HELD_BY_THE_WORKFLOW = ['DatabaseUnavailable'];

/** Chat step 4, the reply: critical. */
export const chatReplyStep: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second', backoffCoefficient: 2, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/** Chat steps 1-3, 5, 6: best effort, and 1-3 sit before the reply, so fast. */
export const chatBestEffortStep: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 2, initialInterval: '1 second', backoffCoefficient: 1, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/**
 * Bookkeeping that must land (marking a reply failed): longer than the reply's policy, so
 * a blip does not leave the batch to the redelivery job, which is the last resort.
 */
export const chatBookkeeping: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    maximumAttempts: 6,
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW,
  },
};

/** How long a turn is held while the database is unreachable, before it fails (Decision 28). */
export const DATABASE_OUTAGE_HOLD_MS = 2 * 60 * 1000;
/** Backoff between checks while the database is unreachable. */
export const DATABASE_OUTAGE_FIRST_RETRY_MS = 1000;
export const DATABASE_OUTAGE_MAX_RETRY_MS = 15_000;

export const chatTitle: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 2, initialInterval: '1 second', backoffCoefficient: 1 },
};

/** Document pipeline and maintenance, and the signal embeddings the chat starts. */
export const documentPipeline: ActivityOptions = {
  startToCloseTimeout: TASK_TIME_LIMIT,
  retry: { maximumAttempts: 3, initialInterval: '10 seconds', backoffCoefficient: 2 },
};

export const maintenance: ActivityOptions = documentPipeline;

/**
 * processDocument's steps: the document pipeline's policy, except that an unreachable
 * database is held by the workflow (Decision 28), not spent as one of the 3 attempts.
 */
export const documentStep: ActivityOptions = {
  ...documentPipeline,
  retry: { ...documentPipeline.retry, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/**
 * The embedding step heartbeats after every stored batch (and every few seconds while a
 * batch is in flight), so a dead worker is noticed in 20 s and the retry resumes from the
 * last stored batch instead of waiting out the 30-minute attempt.
 */
export const documentEmbedding: ActivityOptions = { ...documentStep, heartbeatTimeout: '20 seconds' };

/**
 * Extraction beats every few seconds while the parse pool reads the document off the event
 * loop (and once per PDF page), so a dead worker is noticed in a minute; the parse itself is
 * bounded by DOCUMENT_PARSE_DEADLINE_MS.
 */
export const documentExtraction: ActivityOptions = { ...documentStep, heartbeatTimeout: '1 minute' };

/** Indexing and marking failed are one transaction each: minutes, never half an hour. */
export const documentWrite: ActivityOptions = { ...documentStep, startToCloseTimeout: '2 minutes' };

/**
 * A completed document's evidence step (store its passages, tell the brief, start their
 * runs), after the 30-minute pipeline: bounded on its own, so the run still ends before its
 * 35-minute backstop.
 */
export const DOCUMENT_EVIDENCE_STEP_LIMIT = '4 minutes';

/** Backstop on processDocument past its in-workflow 30 min and its cleanup (notes §5). */
export const DOCUMENT_EXECUTION_TIMEOUT = '35 minutes';

/**
 * The redelivery job: the maintenance policy, and a heartbeat per thread and per message so a
 * worker that dies mid-run is noticed in 30 s, not 30 min (each step between beats is bounded
 * by 10 s); a retried attempt goes on from the last page its beats recorded.
 */
export const chatRedelivery: ActivityOptions = { ...maintenance, heartbeatTimeout: '30 seconds' };

/**
 * Signal maintenance (Decision 34): the maintenance policy (3 attempts, 10 s ×2), a heartbeat
 * after every batch, so a dead worker's attempt is retried after 30 s, not 30 min; an
 * unreachable database is held by the workflow, not spent as an attempt.
 */
export const signalMaintenance: ActivityOptions = {
  ...maintenance,
  heartbeatTimeout: '30 seconds',
  retry: { ...maintenance.retry, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/** Recording a job's report: one insert. */
export const maintenanceReport: ActivityOptions = { ...signalMaintenance, startToCloseTimeout: '1 minute' };

/** Backstop on scheduled maintenance runs, past their in-workflow 30 min (notes §5). */
export const MAINTENANCE_EXECUTION_TIMEOUT = '35 minutes';

/** The seed's `ingest_evidence_async` / `fetch_url_and_ingest`: 2 retries, 10 s, no backoff. */
export const ingestion: ActivityOptions = {
  startToCloseTimeout: TASK_TIME_LIMIT,
  retry: { maximumAttempts: 3, initialInterval: '10 seconds', backoffCoefficient: 1 },
};

/**
 * The seed's `evolve_brief_async` (2 retries, 5 s apart), narrowed on purpose: the seed
 * retried every failure; here only transient ones are (the database's serialization,
 * deadlock and timeouts, the model's 429/5xx/timeouts), because the evolution classifies
 * everything else as non-retryable where it happens (the case gone, a model answer that does
 * not fit, an error of our own): the answer would be the same on every attempt. An
 * unreachable database is held by the workflow (Decision 28), not spent as an attempt. The
 * heartbeat (every 5 s while the model writes) notices a dead worker in 10 s and is how a
 * `cancelEvolution` reaches the attempt.
 */
export const briefEvolution: ActivityOptions = {
  startToCloseTimeout: TASK_TIME_LIMIT,
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds', backoffCoefficient: 1, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/** A case's brief workflow continues as new at least this often (the server may suggest it sooner). */
export const BRIEF_MAX_EVOLUTIONS_PER_RUN = 100;
/**
 * ... or once its history is this long, even within a window (a burst of signals is one
 * event each): well under the server's 51,200, with room for the evolution that follows.
 */
export const BRIEF_MAX_HISTORY_EVENTS = 10_000;

/**
 * Research (the seed's table: 2 retries, exponential, capped at 60 s), narrowed as everywhere:
 * only transient errors are retried (the model's 429/5xx/timeouts, the database's transient
 * ones), since each phase classifies the rest as non-retryable where it happens; an
 * unreachable database is held by the workflow (Decision 28), not spent as an attempt. A phase
 * beats while its calls are in flight (every 5 s), so a dead worker's attempt is retried after
 * 20 s, and a cancellation reaches the call in flight through the heartbeat.
 */
export const research: ActivityOptions = {
  startToCloseTimeout: TASK_TIME_LIMIT,
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '60 seconds', nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/** Research's bookkeeping (its row, its placeholder, its handoff): one short transaction each. */
export const researchBookkeeping: ActivityOptions = { ...research, startToCloseTimeout: '2 minutes' };

/** Conversations close after this long idle; the next message starts a new run. */
export const CONVERSATION_IDLE_TIMEOUT_MS = 60 * 60 * 1000;
/** Continue-as-new at least this often, to keep each run's history small. */
export const CONVERSATION_MAX_TURNS_PER_RUN = 100;

/**
 * A conversation's workflow task timeout. While a local activity runs the task stays open
 * and signals wait; the SDK heartbeats the task at 80% of this, which is when a
 * `cancelReply` signal gets in. Shorter than the default 10 s so a cancel lands within ~3 s.
 */
export const CONVERSATION_TASK_TIMEOUT = '4 seconds';

/**
 * The seed's table for `fetch_url_and_ingest` (`ingestion`: 3 attempts, 10 s apart, no
 * backoff), with one deliberate narrowing: the seed retried every failure ("always
 * retryable"); here only network trouble, timeouts and 408/425/429/5xx are retried. A blocked
 * or malformed URL, another 4xx, a type or size we refuse fails at once with its reason
 * (activities/web/errors.ts decides, non-retryable): the answer would be the same on every
 * attempt, and an inward-pointing URL must be knocked on never, not three times.
 * The heartbeat (the fetcher's progress, and a beat every 2 s) lets a dead worker's attempt
 * be retried after 10 s, not 30 min; an unreachable database is held by the workflow
 * (Decision 28), not spent as an attempt.
 */
export const urlFetchStep: ActivityOptions = {
  ...ingestion,
  heartbeatTimeout: '10 seconds',
  retry: { ...ingestion.retry, nonRetryableErrorTypes: ['DatabaseUnavailable'] },
};

/** Embedding a batch of new signals: the document pipeline's retries, and a keepalive heartbeat. */
export const signalEmbedding: ActivityOptions = { ...documentPipeline, heartbeatTimeout: '30 seconds' };

/**
 * ingestEvidence's analysis (score, link, check contradictions, record: one activity): the
 * seed's table (`ingestion`: 3 attempts, 10 s apart, no backoff), narrowed as for URLs: only
 * transient errors are retried (a model or network timeout, 408/409/429/5xx, a database
 * statement that may pass next time); bad input, a refused key, a model's invalid answer
 * fail at once, since every attempt would answer the same. An unreachable database is held
 * by the workflow (Decision 28), not spent as an attempt. The activity beats while a model
 * call is in flight, so a dead worker's attempt is retried after 20 s, not 30 minutes.
 */
export const evidenceAnalysis: ActivityOptions = {
  ...ingestion,
  heartbeatTimeout: '20 seconds',
  retry: { ...ingestion.retry, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/** Marking an item failed is one short transaction: minutes, never half an hour. */
export const evidenceWrite: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: evidenceAnalysis.retry };

/**
 * Telling the case's brief and conversations, after the item completed: best effort (the
 * run never fails on it), the seed's 3 attempts 10 s apart; each call is bounded by its own
 * deadline, so an attempt takes seconds. An unreachable database is just a failed attempt.
 * It beats while it runs, so a dead worker's tell is retried after 10 s, not the minute.
 */
export const evidenceTell: ActivityOptions = { ...ingestion, startToCloseTimeout: '1 minute', heartbeatTimeout: '10 seconds' };

/** Backstop on ingestEvidence past its in-workflow 30 min and its cleanup (notes §5). */
export const EVIDENCE_EXECUTION_TIMEOUT = '35 minutes';

/**
 * The case draft's steps (queue `chat`): the document pipeline's retries (3 attempts, 10 s ×2),
 * except that an unreachable database is held by the workflow (Decision 28). Each step is one
 * transaction or a few Temporal calls: minutes at most, never half an hour; the longer ones beat
 * while they run, so a dead worker's attempt is retried after 20 s.
 */
export const caseDraftStep: ActivityOptions = { ...documentStep, startToCloseTimeout: '2 minutes', heartbeatTimeout: '20 seconds' };

/** Backstop on an agent's or a case draft's run past its in-workflow 30 min and its cleanup (notes §5). */
export const AGENT_EXECUTION_TIMEOUT = '35 minutes';

/**
 * One batch of an on-demand signal extraction: the seed's ingestion table (3 attempts, 10 s
 * apart), only transient errors retried (the model's invalid answer moves past the batch, as
 * chat's does); an unreachable database is held by the workflow. Its model call beats, so a
 * dead worker is noticed in 20 s.
 */
export const signalExtractionBatch: ActivityOptions = {
  ...ingestion,
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { ...ingestion.retry, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};

/** An on-demand extraction continues as new after this many batches: a 10 MiB document is hundreds. */
export const EXTRACTION_BATCHES_PER_RUN = 100;

/**
 * The housekeeping jobs' steps (`cleanupOldEvents`, `refreshWorkingViews`; Decision 34): the
 * maintenance policy (3 attempts, 10 s ×2), a heartbeat per batch (or every few seconds while a
 * refresh runs), so a dead worker is noticed in 30 s and a retried cleanup goes on from its last
 * batch; an unreachable database is held by the workflow (Decision 28), not spent as an attempt.
 */
export const housekeepingStep: ActivityOptions = {
  ...maintenance,
  heartbeatTimeout: '30 seconds',
  retry: { ...maintenance.retry, nonRetryableErrorTypes: HELD_BY_THE_WORKFLOW },
};
