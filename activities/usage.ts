/**
 * The token ledger (DESIGN.md Decision 17): each model call an activity attempt makes is one
 * row keyed by (workflow id, run id, activity id, attempt, call ordinal). Writing an attempt's
 * rows again is a no-op (ON CONFLICT DO NOTHING); a retry is a new attempt, so its calls count
 * again. Activities write the rows in the transaction that stores what the calls produced,
 * so metering costs no commit of its own.
 */
import { Context } from '@temporalio/activity';
import type { Db } from './db/client.js';
import { tokenLedger } from './db/schema/index.js';
import { activitySignal, type Queryable } from './events.js';
import type { LlmCall, LlmUsage } from './llm/metering.js';

/** One attempt of one activity in one run. */
export interface AttemptKey {
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
}

/** The running activity's attempt (local activities too); null outside a workflow's activity. */
export function currentAttempt(): AttemptKey | null {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    return null;
  }
  const run = info.workflowExecution;
  return run ? { workflowId: run.workflowId, runId: run.runId, activityId: info.activityId, attempt: info.attempt } : null;
}

/** Meters one activity attempt's model calls and writes them to the ledger. */
export interface AttemptMeter {
  /** The calls so far, in the order they reported. */
  readonly calls: readonly LlmUsage[];
  /**
   * Runs one model call with the activity's cancellation signal and this meter. If it fails
   * after the model answered (a cut-off or invalid answer still costs tokens), the usage is
   * written alone before the failure goes on: the transaction that would carry it never runs.
   */
  call<T>(fn: (call: LlmCall) => Promise<T>): Promise<T>;
  /** Writes the calls so far, in the caller's transaction. */
  write(db: Queryable): Promise<void>;
}

/**
 * `userId` is whose work the calls were (the thread's user), null when nobody's. Outside an
 * activity there is no key and nothing is written, unless a test passes one.
 */
export function meterAttempt(db: Db, userId: string | null, key: AttemptKey | null = currentAttempt()): AttemptMeter {
  const calls: LlmUsage[] = [];
  const usage = { record: (entry: LlmUsage) => void calls.push(entry) };
  const write = async (target: Queryable) => {
    if (!key || calls.length === 0) return;
    await target
      .insert(tokenLedger)
      .values(calls.map((entry, call) => ({ ...key, call, userId, ...entry })))
      .onConflictDoNothing();
  };
  return {
    calls,
    write,
    async call(fn) {
      const before = calls.length;
      try {
        return await fn({ signal: activitySignal(), usage });
      } catch (err) {
        // Best effort: the call's own failure is what the caller must see.
        if (calls.length > before) await write(db).catch(() => undefined);
        throw err;
      }
    },
  };
}
