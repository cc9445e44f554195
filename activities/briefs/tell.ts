/**
 * Telling the brief where it is not the caller's main job (Decision 27: best effort for the
 * caller): a signal extraction, an attach. A failure is logged and swallowed; the brief
 * recomputes from the database at its next evolution, so a missed change delays it, never
 * corrupts it.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { BriefConfig } from '../../workers/config.js';
import type { BriefChange, QueueNames } from '../../workflows/types.js';
import { signalBriefChanged, type BriefTarget } from './client.js';

/** A healthy signal-with-start takes milliseconds; the caller's own work must not wait long on it. */
export const TELL_BRIEF_DEADLINE_MS = 5_000;

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
  try {
    await signalBriefChanged(temporal, target, change, { queues: options.queues, brief: options.brief, deadline: Date.now() + TELL_BRIEF_DEADLINE_MS });
    return true;
  } catch (err) {
    const warn = options.warn ?? activityWarn();
    warn('the case\'s brief could not be told of a change: its next evolution will read it anyway', {
      caseId: target.caseId, change, err: err instanceof Error ? err.message : String(err),
    });
    return false;
  }
}
