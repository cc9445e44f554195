/**
 * The redelivery job (issue 11, defect 8; issue 16; Decision 31), started every minute by the
 * schedule `<prefix>chat-redelivery` (workers/schedules.ts): rows committed for a workflow that
 * may never have received them are handed over again. One activity per kind, side by side
 * (`PENDING_KINDS`: user messages pending past CHAT_REDELIVERY_AFTER_MS that their conversation
 * has not seen; documents, evidence and agent runs pending past REDELIVERY_AFTER_MS), each paging through
 * its rows; a kind that fails as a whole is reported with its error and the others go on. Each
 * stops starting pages at 80 % of the run's time limit, and a run that stopped so hands its
 * place to the schedule's next run through its result (Temporal gives a scheduled run the last
 * completed run's result), per kind. A system run: no user, no event; its report is its result
 * and the activities' logs. The type keeps its first name, `redeliverMessages`, so the schedule
 * and recorded histories stay valid; runs that started before the other kinds were swept
 * replay their one messages activity (`MAINTENANCE_PATCHES.redeliverEveryKind`), and runs that
 * started before agent runs were swept their three (`MAINTENANCE_PATCHES.redeliverAgentRuns`).
 */
import { ActivityFailure, CancellationScope, isCancellation, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { chatRedelivery, TASK_TIME_LIMIT, TASK_TIME_LIMIT_MS } from '../policies.js';
import {
  PENDING_KINDS,
  PENDING_KINDS_BEFORE_AGENT_RUNS,
  type PendingKindName,
  type PendingKindReport,
  type RedeliverMessagesInput,
  type RedeliveryCursor,
  type RedeliveryReport,
} from '../types.js';
import { MAINTENANCE_PATCHES } from './patches.js';

const { redeliverPending, redeliverPendingMessages } = proxyActivities<Activities>(chatRedelivery);

/** The share of the time limit in which pages may start; the rest lets the last one finish. */
const BUDGET_SHARE = 0.8;

const SUMMARIES: Record<PendingKindName, string> = {
  messages: 'Re-send pending user messages their conversation has not seen',
  documents: 'Hand over again documents left pending',
  evidence: 'Hand over again evidence left pending',
  agentRuns: 'Hand over again agent runs and case drafts left pending',
};

/**
 * Where the schedule's previous run stopped this kind at its budget; none if it finished (or
 * failed, or was older). A run from before every kind was swept reported messages alone, at
 * the top level.
 */
function stoppedAt(previous: unknown, kind: PendingKindName): RedeliveryCursor | undefined {
  const all = previous as Record<string, unknown> | undefined;
  const legacy = kind === 'messages' && all !== undefined && all !== null && 'threads' in all;
  const report = (legacy ? all : all?.[kind]) as Partial<PendingKindReport> | undefined;
  const cursor = report?.complete === false ? report.resumeAfter : undefined;
  const keyed = typeof cursor?.seq === 'number' || typeof cursor?.id === 'string';
  return typeof cursor?.createdAt === 'string' && keyed ? cursor : undefined;
}

/** The failure's own words (the activity's), not "activity failed". */
function reasonOf(err: unknown): string {
  const inner = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return inner instanceof Error ? inner.message : String(inner);
}

const failedKind = (error: string): PendingKindReport => ({ examined: 0, resent: 0, units: 0, failedUnits: 0, complete: false, error });

async function sweep(kind: PendingKindName, input: RedeliverMessagesInput, stopBy: number): Promise<PendingKindReport> {
  const resumeAfter = input.resumeAfter?.[kind] ?? stoppedAt(workflowInfo().lastResult, kind);
  try {
    return await redeliverPending.executeWithOptions({ ...chatRedelivery, summary: SUMMARIES[kind] }, [
      { kind, queues: input.queues, pageSize: input.pageSize, resumeAfter, stopBy },
    ]);
  } catch (err) {
    // The run's time limit fails the run, as before; a kind that gave up leaves the others be.
    if (isCancellation(err)) throw err;
    log.warn('redelivery: a kind failed, the others go on', { kind, error: reasonOf(err) });
    return failedKind(reasonOf(err));
  }
}

/** What runs recorded before the other kinds were swept did: the messages' activity alone. */
async function messagesOnly(input: RedeliverMessagesInput, stopBy: number): Promise<RedeliveryReport> {
  const resumeAfter = input.resumeAfter?.messages ?? stoppedAt(workflowInfo().lastResult, 'messages');
  const messages = await redeliverPendingMessages.executeWithOptions({ ...chatRedelivery, summary: SUMMARIES.messages }, [
    { queues: input.queues, pageSize: input.pageSize, resumeAfter, stopBy },
  ]);
  const notSwept = failedKind('not swept: this run started before documents and evidence were');
  return { messages, documents: notSwept, evidence: notSwept, agentRuns: notSwept };
}

export async function redeliverMessages(input: RedeliverMessagesInput): Promise<RedeliveryReport> {
  const everyKind = patched(MAINTENANCE_PATCHES.redeliverEveryKind);
  const kinds = everyKind && patched(MAINTENANCE_PATCHES.redeliverAgentRuns) ? PENDING_KINDS : PENDING_KINDS_BEFORE_AGENT_RUNS;
  const stopBy = Date.now() + (input.timeLimitMs ?? TASK_TIME_LIMIT_MS) * BUDGET_SHARE;
  const report = await CancellationScope.withTimeout(input.timeLimitMs ?? TASK_TIME_LIMIT, async () => {
    if (!everyKind) return messagesOnly(input, stopBy);
    const reports = await Promise.all(kinds.map((kind) => sweep(kind, input, stopBy)));
    const notSwept = failedKind('not swept: this run started before agent runs were');
    return Object.fromEntries(PENDING_KINDS.map((kind) => [kind, reports[kinds.indexOf(kind)] ?? notSwept])) as RedeliveryReport;
  });
  log.info('redelivery finished', { ...report });
  return report;
}
