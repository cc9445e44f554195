/**
 * Every activity a workflow scheduled, read from its history: how it ended, after how many
 * attempts, the last attempt's failure, and how long it ran against its own limits. The
 * server records an activity's Started event with its final attempt only, so earlier
 * attempts show as `attempt` > 1 and their last failure (a timeout that caught a hang says
 * so there).
 */
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';

type HistoryEvent = NonNullable<History['events']>[number];
type ProtoDuration = { seconds?: unknown; nanos?: number | null } | null | undefined;

export interface ActivityRecord {
  workflowId: string;
  activityId: string;
  type: string;
  /** How it ended; `pending` while the workflow still waits for it. */
  outcome: 'completed' | 'failed' | 'timed out' | 'cancelled' | 'pending';
  attempt: number;
  /** The last attempt's failure before this one (a retry's reason), or the final failure. */
  failure?: string;
  /** The final attempt: from its start to its close (or to now while pending). */
  runMs: number;
  /** From schedule to close: every attempt, retries and their backoff included. */
  totalMs: number;
  startToCloseMs?: number;
  heartbeatMs?: number;
}

const timeOf = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
const durationMs = (d: ProtoDuration) => (d ? Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6) : undefined);

function failureText(f: { message?: string | null; cause?: unknown; applicationFailureInfo?: { type?: string | null } | null; timeoutFailureInfo?: { timeoutType?: unknown } | null } | null | undefined): string | undefined {
  if (!f) return undefined;
  const parts: string[] = [];
  for (let cur: typeof f | undefined = f; cur && parts.length < 3; cur = cur.cause as typeof f | undefined) {
    const type = cur.applicationFailureInfo?.type ?? (cur.timeoutFailureInfo ? `timeout ${String(cur.timeoutFailureInfo.timeoutType)}` : undefined);
    parts.push(type ? `${type}: ${cur.message ?? ''}` : (cur.message ?? ''));
  }
  return parts.join(' <- ');
}

export async function activityRecords(client: Client, workflowId: string): Promise<ActivityRecord[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const records = new Map<number, ActivityRecord & { scheduledAt: number; startedAt?: number }>();
  const now = Date.now();
  for (const e of events) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      records.set(id, {
        workflowId, activityId: scheduled.activityId ?? '', type: scheduled.activityType?.name ?? '?', outcome: 'pending', attempt: 0,
        runMs: 0, totalMs: 0, scheduledAt: timeOf(e),
        startToCloseMs: durationMs(scheduled.startToCloseTimeout), heartbeatMs: durationMs(scheduled.heartbeatTimeout),
      });
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const r = records.get(Number(started.scheduledEventId));
      if (r) {
        r.startedAt = timeOf(e);
        r.attempt = started.attempt ?? 1;
        r.failure = failureText(started.lastFailure);
      }
      continue;
    }
    const closed =
      (e.activityTaskCompletedEventAttributes && { how: 'completed' as const, a: e.activityTaskCompletedEventAttributes }) ||
      (e.activityTaskFailedEventAttributes && { how: 'failed' as const, a: e.activityTaskFailedEventAttributes }) ||
      (e.activityTaskTimedOutEventAttributes && { how: 'timed out' as const, a: e.activityTaskTimedOutEventAttributes }) ||
      (e.activityTaskCanceledEventAttributes && { how: 'cancelled' as const, a: e.activityTaskCanceledEventAttributes });
    if (!closed) continue;
    const r = records.get(Number(closed.a.scheduledEventId));
    if (!r) continue;
    r.outcome = closed.how;
    const at = timeOf(e);
    r.runMs = r.startedAt === undefined ? 0 : at - r.startedAt;
    r.totalMs = at - r.scheduledAt;
    if ('failure' in closed.a) r.failure = failureText(closed.a.failure) ?? r.failure;
  }
  for (const r of records.values()) {
    if (r.outcome !== 'pending') continue;
    r.runMs = r.startedAt === undefined ? 0 : now - r.startedAt;
    r.totalMs = now - r.scheduledAt;
  }
  return [...records.values()].map(({ scheduledAt: _s, startedAt: _t, ...r }) => r);
}
