/**
 * Cases as the gateway reads and changes them: a case of the caller (else 404: foreign and
 * unknown look the same), its counts, and attaching a thread (Decision 22: the thread's
 * signals get the case id in the same transaction), then telling the thread's running
 * conversation so it tags its run with `CaseId` and passes the case on.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { cases, signals, threads, type CaseRow, type ThreadRow } from '../activities/db/schema/index.js';
import { caseAttachedSignal } from '../workflows/messages.js';
import { workflowIds } from '../workflows/types.js';
import { conflict, notFound, temporalCall } from './errors.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** A database handle or an open transaction: reads work on both. */
type Reader = Pick<Db, 'select'>;

export interface CaseCounts {
  threads: number;
  /** Active signals of the case: its threads' and its own (merged and archived ones are history). */
  signals: number;
}

/**
 * Counted per case in the statement that reads the cases (the lists are per user, so
 * small). Columns are qualified by hand: in a one-table select drizzle renders a column
 * bare, and a bare `id` inside the subquery would be the counted table's own.
 */
export const caseCounts = {
  threads: sql<number>`(select count(*)::int from ${threads} where ${threads}.case_id = ${cases}.id)`,
  signals: sql<number>`(select count(*)::int from ${signals} where ${signals}.case_id = ${cases}.id and ${signals}.status = 'active')`,
};

export async function findOwnCase(db: Reader, userId: string, caseId: string): Promise<CaseRow> {
  const [row] = await db.select().from(cases).where(and(eq(cases.id, caseId), eq(cases.userId, userId)));
  if (!row) throw notFound('case');
  return row;
}

export async function readCase(db: Reader, userId: string, caseId: string): Promise<{ row: CaseRow; counts: CaseCounts }> {
  const [found] = await db
    .select({ row: cases, threads: caseCounts.threads, signals: caseCounts.signals })
    .from(cases)
    .where(and(eq(cases.id, caseId), eq(cases.userId, userId)));
  if (!found) throw notFound('case');
  return { row: found.row, counts: { threads: found.threads, signals: found.signals } };
}

/**
 * Puts the caller's thread on a case the caller owns (checked by the caller of this), in
 * the transaction given: 404 unless the thread is the caller's, 409 if it is on another
 * case, a no-op for the same case. The thread row stays locked until commit, so two
 * attaches of one thread take turns. The signals are updated on every call, so an attach
 * repeated after a signal slipped in without the case id repairs it.
 */
export async function attachThread(tx: Tx, userId: string, threadId: string, caseId: string): Promise<ThreadRow> {
  const [thread] = await tx
    .select()
    .from(threads)
    .where(and(eq(threads.id, threadId), eq(threads.userId, userId)))
    .for('update');
  if (!thread) throw notFound('thread');
  if (thread.caseId && thread.caseId !== caseId) throw conflict('this thread is already on another case');
  const attached = thread.caseId
    ? thread
    : (await tx.update(threads).set({ caseId, updatedAt: sql`now()` }).where(eq(threads.id, threadId)).returning())[0]!;
  await tx
    .update(signals)
    .set({ caseId })
    .where(and(eq(signals.threadId, threadId), sql`${signals.caseId} is distinct from ${caseId}`));
  return attached;
}

/**
 * Signals the thread's conversation that it joined the case (it ignores a case it knows).
 * No open run: nothing to tell, the next message's signal-with-start carries the case from
 * the thread row. The workflow service down: a 503, and the attach can simply be repeated.
 */
export async function tellConversation(temporal: Client, threadId: string, caseId: string): Promise<'told' | 'no-run'> {
  const handle = temporal.workflow.getHandle(workflowIds.conversation(threadId));
  try {
    await temporalCall(temporal, () => handle.signal(caseAttachedSignal, { caseId }));
    return 'told';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'no-run';
    throw err;
  }
}
