/**
 * Attaching a thread to a case, for the gateway and activities alike (the case draft will
 * attach its thread from an activity). The row change (Decision 22: the thread's signals get
 * the case id in the same transaction, which holds the thread row, so no signal extracted
 * meanwhile slips in without it), then, once committed, telling who depends on it: the
 * thread's running conversation (`caseAttached`: it tags its run with `CaseId` and passes the
 * case on) and the case's brief (best effort: the thread's signals are now the case's).
 * Problems come back as values, so each caller answers in its own terms (a 404, a 409, a
 * non-retryable failure).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { cases, signals, threads, type ThreadRow } from '../db/schema/index.js';
import type { Tx } from '../events.js';
import { tellBrief, type Warn } from '../briefs/tell.js';
import type { BriefConfig } from '../../workers/config.js';
import { caseAttachedSignal } from '../../workflows/messages.js';
import { workflowIds, type QueueNames } from '../../workflows/types.js';

export type AttachProblem = 'case-not-found' | 'thread-not-found' | 'other-case';
export type AttachResult = { thread: ThreadRow } | { problem: AttachProblem };

export interface AttachTarget {
  userId: string;
  threadId: string;
  caseId: string;
}

export interface AnnounceOptions {
  queues: QueueNames;
  brief?: BriefConfig;
  /** Absolute deadline (ms since epoch) of telling the conversation. */
  deadline: number;
  /** Where a brief that could not be told is logged; absent: the running activity's log. */
  warn?: Warn;
}

/**
 * In the caller's transaction: the caller's thread onto a case the caller owns (checked by
 * the caller), or a problem. The same case again is a no-op that still repairs the signals
 * (one that slipped in without the case id); the thread row stays locked until commit, so two
 * attaches of one thread take turns.
 */
export async function attachThreadRow(tx: Tx, target: AttachTarget): Promise<AttachResult> {
  const { userId, threadId, caseId } = target;
  const [thread] = await tx.select().from(threads).where(and(eq(threads.id, threadId), eq(threads.userId, userId))).for('update');
  if (!thread) return { problem: 'thread-not-found' };
  if (thread.caseId && thread.caseId !== caseId) return { problem: 'other-case' };
  const attached = thread.caseId
    ? thread
    : (await tx.update(threads).set({ caseId, updatedAt: sql`now()` }).where(eq(threads.id, threadId)).returning())[0]!;
  await tx.update(signals).set({ caseId }).where(and(eq(signals.threadId, threadId), sql`${signals.caseId} is distinct from ${caseId}`));
  return { thread: attached };
}

/**
 * After the attach committed. The conversation (it ignores a case it knows): no open run is
 * nothing to tell, since the next message's signal-with-start carries the case from the thread
 * row; any other failure is the caller's (the attach can simply be repeated). Then the brief.
 */
export async function announceAttach(temporal: Client, target: AttachTarget, options: AnnounceOptions): Promise<'told' | 'no-run'> {
  let conversation: 'told' | 'no-run' = 'told';
  try {
    const handle = temporal.workflow.getHandle(workflowIds.conversation(target.threadId));
    await temporal.withDeadline(options.deadline, () => handle.signal(caseAttachedSignal, { caseId: target.caseId }));
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    conversation = 'no-run';
  }
  await tellBrief(temporal, { caseId: target.caseId, userId: target.userId }, { kind: 'thread-attached', id: target.threadId }, options);
  return conversation;
}

/** The whole attach, for a caller with no transaction of its own: the case must be the user's too. */
export async function attachThreadToCase(db: Db, temporal: Client, target: AttachTarget, options: AnnounceOptions): Promise<AttachResult & { conversation?: 'told' | 'no-run' }> {
  const result = await db.transaction(async (tx): Promise<AttachResult> => {
    const [own] = await tx.select({ id: cases.id }).from(cases).where(and(eq(cases.id, target.caseId), eq(cases.userId, target.userId)));
    return own ? attachThreadRow(tx, target) : { problem: 'case-not-found' };
  });
  if ('problem' in result) return result;
  return { ...result, conversation: await announceAttach(temporal, target, options) };
}
