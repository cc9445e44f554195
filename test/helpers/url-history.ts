/**
 * What a fetchUrlAndIngest run's history says about its fetch: the attempt number the server
 * recorded (retries are not events: the last attempt's started event carries its number),
 * the retry policy the activity was scheduled with, and why its last failure was not retried.
 */
import type { Client } from '@temporalio/client';

/** temporal.api.enums.v1.RetryState by number (@temporalio/proto is not a direct dependency). */
const RETRY_STATES = ['UNSPECIFIED', 'IN_PROGRESS', 'NON_RETRYABLE_FAILURE', 'TIMEOUT', 'MAXIMUM_ATTEMPTS_REACHED'];

export interface FetchHistoryFacts {
  /** The attempt of each started fetch activity, in order. */
  attempts: number[];
  retryPolicy?: { maximumAttempts: number; initialIntervalMs: number; backoffCoefficient: number };
  heartbeatTimeoutMs?: number;
  /** `RETRY_STATE_NON_RETRYABLE_FAILURE`, `RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED`, ... of the last failed fetch. */
  failedRetryState?: string;
}

type Duration = { seconds?: unknown; nanos?: number | null } | null | undefined;
const ms = (d: Duration) => (d ? Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6) : undefined);

export async function fetchHistoryFacts(client: Client, workflowId: string, runId?: string): Promise<FetchHistoryFacts> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchUrlDocument')
    ?.activityTaskScheduledEventAttributes;
  const facts: FetchHistoryFacts = {
    attempts: events.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : [])),
  };
  const policy = scheduled?.retryPolicy;
  if (policy) {
    facts.retryPolicy = {
      maximumAttempts: policy.maximumAttempts ?? 0,
      initialIntervalMs: ms(policy.initialInterval) ?? 0,
      backoffCoefficient: policy.backoffCoefficient ?? 0,
    };
  }
  facts.heartbeatTimeoutMs = ms(scheduled?.heartbeatTimeout);
  const failed = events.filter((e) => e.activityTaskFailedEventAttributes).pop()?.activityTaskFailedEventAttributes;
  if (failed?.retryState !== undefined && failed.retryState !== null) {
    facts.failedRetryState = `RETRY_STATE_${RETRY_STATES[failed.retryState] ?? failed.retryState}`;
  }
  return facts;
}
