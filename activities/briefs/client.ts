/**
 * Telling a case's brief that something it is computed from changed: signal-with-start of
 * `evolve-brief-<caseId>` (Decision 27: the debounce decides when; the evolution recomputes
 * from the database). The one way every producer reaches the brief: evidence ingestion, a
 * completed document, a signal extraction, a thread attached to the case (gateway or activity).
 * Repeating it is safe: a change signalled twice only joins the window once more.
 */
import type { Client } from '@temporalio/client';
import { briefChangedSignal } from '../../workflows/messages.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { workflowIds, type BriefChange, type EvolveBriefInput, type QueueNames } from '../../workflows/types.js';
import { BRIEF_DEFAULTS, type BriefConfig } from '../../workers/config.js';

export interface BriefTarget {
  caseId: string;
  /** The case's owner: the run's `UserId`. */
  userId: string;
}

export interface BriefSignalOptions {
  queues: QueueNames;
  /** The debounce windows a new run starts with; absent: the config module's defaults. */
  brief?: BriefConfig;
  /** Absolute deadline (ms since epoch) of the call. */
  deadline: number;
  /** Test-only knobs of the input (a short outage hold, evolutions per run). */
  overrides?: Partial<EvolveBriefInput>;
}

export async function signalBriefChanged(temporal: Client, target: BriefTarget, change: BriefChange, options: BriefSignalOptions): Promise<string> {
  const workflowId = workflowIds.evolveBrief(target.caseId);
  const windows = options.brief ?? BRIEF_DEFAULTS;
  const input: EvolveBriefInput = {
    caseId: target.caseId,
    userId: target.userId,
    queues: options.queues,
    quietMs: windows.debounceMs,
    maxWaitMs: windows.maxWaitMs,
    idleCloseMs: windows.idleCloseMs,
    ...options.overrides,
  };
  await temporal.withDeadline(options.deadline, () =>
    temporal.workflow.signalWithStart('evolveBrief', {
      workflowId,
      taskQueue: options.queues.ingest,
      args: [input],
      signal: briefChangedSignal,
      signalArgs: [change],
      typedSearchAttributes: searchAttributes({ caseId: target.caseId, userId: target.userId }),
      staticSummary: `Brief of case ${target.caseId}`,
    }),
  );
  return workflowId;
}
