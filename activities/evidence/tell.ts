/**
 * After an item completed, telling who reads it (best effort for the run: Decision 27): the
 * case's brief (`briefChanged`, signal-with-start of `evolve-brief-<caseId>`), and each
 * running conversation of the case's threads (`evidenceAdded`, so its next turn runs the
 * interventions again). A thread with no open `chat-<threadId>` run is not started: its next
 * message's turn reads the evidence anyway. Repeating it is harmless: the brief joins the
 * change to its window again, and a conversation posts once per (signal, evidence) pair.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { desc, eq } from 'drizzle-orm';
import { evidenceAddedSignal } from '../../workflows/messages.js';
import { workflowIds, type QueueNames } from '../../workflows/types.js';
import type { BriefConfig } from '../../workers/config.js';
import { signalBriefChanged } from '../briefs/client.js';
import type { Db } from '../db/client.js';
import { threads } from '../db/schema/index.js';
import { keepAlive } from '../heartbeat.js';

export interface TellDeps {
  db: Db;
  temporal: Client;
  config: { queues: QueueNames; brief?: BriefConfig };
}

export interface TellRequest {
  evidenceId: string;
  caseId: string;
  userId: string;
}

export interface TellReport {
  /** Running conversations that got the signal. */
  conversations: number;
  /** Threads of the case looked at (the most recently active, at most TELL_MAX_THREADS). */
  threads: number;
}

/** A case with more threads than this tells its most recently active ones. */
export const TELL_MAX_THREADS = 100;
/** Each Temporal call's own deadline: an attempt takes seconds, never the activity's minute. */
const CALL_DEADLINE_MS = 10_000;
/** Conversations signalled at once. */
const PARALLEL_SIGNALS = 10;

async function tellConversation(temporal: Client, threadId: string, evidenceId: string): Promise<boolean> {
  try {
    const handle = temporal.workflow.getHandle(workflowIds.conversation(threadId));
    await temporal.withDeadline(Date.now() + CALL_DEADLINE_MS, () => handle.signal(evidenceAddedSignal, { evidenceId }));
    return true;
  } catch (err) {
    // No open run (never started, or closed): nothing to tell.
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export function createTellActivity(deps: TellDeps) {
  return {
    async tellEvidenceAdded(req: TellRequest): Promise<TellReport> {
      // Beats while the calls run: the policy's heartbeat timeout notices a dead worker.
      return keepAlive(() => tell(deps, req));
    },
  };
}

async function tell(deps: TellDeps, req: TellRequest): Promise<TellReport> {
  const { db, temporal, config } = deps;
  await signalBriefChanged(temporal, { caseId: req.caseId, userId: req.userId }, { kind: 'evidence-added', id: req.evidenceId }, {
    queues: config.queues,
    brief: config.brief,
    deadline: Date.now() + CALL_DEADLINE_MS,
  });
  const ids = await db.select({ id: threads.id }).from(threads).where(eq(threads.caseId, req.caseId)).orderBy(desc(threads.updatedAt)).limit(TELL_MAX_THREADS);
  let conversations = 0;
  for (let at = 0; at < ids.length; at += PARALLEL_SIGNALS) {
    const told = await Promise.all(ids.slice(at, at + PARALLEL_SIGNALS).map((t) => tellConversation(temporal, t.id, req.evidenceId)));
    conversations += told.filter(Boolean).length;
  }
  return { conversations, threads: ids.length };
}
