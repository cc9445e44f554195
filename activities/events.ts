import { Context } from '@temporalio/activity';
import { events } from './db/schema/index.js';
import type { Db } from './db/client.js';
import type { EventType } from '../workflows/types.js';

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Queryable = Db | Tx;

export interface EventInput {
  type: EventType;
  /** Null for a system event (schedules, maintenance): visible to admins only. */
  userId: string | null;
  caseId?: string | null;
  threadId?: string | null;
  documentId?: string | null;
  correlationId?: string | null;
  payload?: Record<string, unknown>;
  /** Business key: a retried activity emits the same key, and the insert is a no-op. */
  idempotencyKey: string;
}

/** The run of the activity running now, if any (events name their run). */
export function currentRun(): { workflowId: string | null; runId: string | null } {
  try {
    const execution = Context.current().info.workflowExecution;
    return { workflowId: execution?.workflowId ?? null, runId: execution?.runId ?? null };
  } catch {
    return { workflowId: null, runId: null };
  }
}

export async function emitEvent(db: Queryable, event: EventInput): Promise<void> {
  await db
    .insert(events)
    .values({
      type: event.type,
      userId: event.userId,
      caseId: event.caseId ?? null,
      threadId: event.threadId ?? null,
      documentId: event.documentId ?? null,
      correlationId: event.correlationId ?? null,
      ...currentRun(),
      payload: event.payload ?? {},
      idempotencyKey: event.idempotencyKey,
    })
    .onConflictDoNothing({ target: events.idempotencyKey });
}

/** The AbortSignal of the running activity, so cancellation aborts in-flight HTTP calls. */
export function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}
