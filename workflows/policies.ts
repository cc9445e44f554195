/**
 * Retry policies and time limits, in one place (DESIGN.md Decision 2). Attempts include
 * the first. Every activity attempt is capped at the seed's 30 minutes.
 */
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/** The seed's global task time limit. */
export const TASK_TIME_LIMIT = '30 minutes';

/** Chat step 4, the reply: critical. */
export const chatReplyStep: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second', backoffCoefficient: 2 },
};

/** Chat steps 1-3, 5, 6: best effort, and 1-3 sit before the reply, so fast. */
export const chatBestEffortStep: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 2, initialInterval: '1 second', backoffCoefficient: 1 },
};

/** Bookkeeping that must land (marking a reply failed): retried like the reply. */
export const chatBookkeeping: LocalActivityOptions = chatReplyStep;

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

/** The seed's `ingest_evidence_async` / `fetch_url_and_ingest`: 2 retries, 10 s, no backoff. */
export const ingestion: ActivityOptions = {
  startToCloseTimeout: TASK_TIME_LIMIT,
  retry: { maximumAttempts: 3, initialInterval: '10 seconds', backoffCoefficient: 1 },
};

/** The seed's `evolve_brief_async`: 2 retries, 5 s. */
export const briefEvolution: ActivityOptions = {
  startToCloseTimeout: TASK_TIME_LIMIT,
  retry: { maximumAttempts: 3, initialInterval: '5 seconds', backoffCoefficient: 1 },
};

/** Research: 2 retries, exponential, capped at 60 s. */
export const research: ActivityOptions = {
  startToCloseTimeout: TASK_TIME_LIMIT,
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '60 seconds' },
};

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
