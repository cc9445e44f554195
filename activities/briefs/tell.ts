/**
 * Telling the brief where it is not the caller's main job (Decision 27: best effort for the
 * caller): a signal extraction, an attach. The signal-with-start goes through the shared
 * hand-off's classification (activities/handoff.ts), retried while its outcome is uncertain
 * within a short budget; a failure is logged and swallowed. The brief recomputes from the
 * database at its next evolution, so a missed change delays it, never corrupts it.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { startAndClassify, type HandOffPolicy } from '../handoff.js';
import type { BriefConfig } from '../../workers/config.js';
import type { BriefChange, QueueNames } from '../../workflows/types.js';
import { signalBriefChanged, type BriefTarget } from './client.js';

/** A healthy signal-with-start takes milliseconds; the caller's own work waits at most 5 s on it. */
export const TELL_BRIEF_POLICY: HandOffPolicy = { attempts: 2, attemptTimeoutMs: 5_000, budgetMs: 5_000, backoffMs: 200 };

export type Warn = (message: string, fields: Record<string, unknown>) => void;

export interface TellBriefOptions {
  queues: QueueNames;
  brief?: BriefConfig;
  /** Where a failure is logged; absent: the running activity's log, if any. */
  warn?: Warn;
}

function activityWarn(): Warn {
  try {
    const log = Context.current().log;
    return (message, fields) => log.warn(message, fields);
  } catch {
    return () => {};
  }
}

/** True when the brief was told. */
export async function tellBrief(temporal: Client, target: BriefTarget, change: BriefChange, options: TellBriefOptions): Promise<boolean> {
  const sent = await startAndClassify(
    (deadline) => signalBriefChanged(temporal, target, change, { queues: options.queues, brief: options.brief, deadline }),
    TELL_BRIEF_POLICY,
  );
  if (sent.outcome === 'delivered') return true;
  const warn = options.warn ?? activityWarn();
  warn('the case\'s brief could not be told of a change: its next evolution will read it anyway', {
    caseId: target.caseId, change, outcome: sent.outcome, err: sent.error instanceof Error ? sent.error.message : String(sent.error),
  });
  return false;
}
