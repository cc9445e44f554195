import { Context } from '@temporalio/activity';
import { events } from './db/schema/index.js';
import type { Db } from './db/client.js';

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Queryable = Db | Tx;

export interface EventInput {
  type: string;
  userId: string;
  caseId?: string | null;
  threadId?: string | null;
  documentId?: string | null;
  correlationId?: string | null;
  payload?: Record<string, unknown>;
  /** Business key: a retried activity emits the same key, and the insert is a no-op. */
  idempotencyKey: string;
}

/** The workflow id of the activity running now, if any (events name their run). */
export function currentWorkflowId(): string | null {
  try {
    return Context.current().info.workflowExecution?.workflowId ?? null;
  } catch {
    return null;
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
      workflowId: currentWorkflowId(),
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
