/**
 * The token ledger (DESIGN.md Decision 17): each model call an activity attempt makes is one
 * row keyed by (workflow id, run id, activity id, attempt, call ordinal). Writing an attempt's
 * rows again is a no-op (ON CONFLICT DO NOTHING); a retry is a new attempt, so its calls count
 * again. Activities write the rows in the transaction that stores what the calls produced
 * (`meter.inTransaction`), so metering costs no commit of its own; when that transaction rolls
 * back, or a call fails after the model answered, the rows are written alone: the tokens were
 * spent whether or not their work was stored.
 */
import { Context } from '@temporalio/activity';
import { reserveCall, settleCalls, type CallBudget } from './budget.js';
import type { Db } from './db/client.js';
import { tokenLedger } from './db/schema/index.js';
import { activitySignal, type Queryable, type Tx } from './events.js';
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
  /**
   * Runs `fn` in a transaction (on the meter's database) that also writes the calls so far.
   * If it fails (`fn` throws, the commit fails), the calls are written alone before the
   * failure goes on, so a paid call reaches the ledger even when the work it paid for does
   * not; the key makes that write a no-op if the transaction had committed after all. Every
   * activity that calls a model stores what the calls produced through this.
   */
  inTransaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Writes the calls so far on their own, best effort: for an activity that fails between
   * its calls and its transaction (a retrieval after an embedding), where neither of the
   * above runs. A no-op for rows already written.
   */
  writeAlone(): Promise<void>;
}

/** A phase's budget (./budget.ts): its calls are reserved before they run and settled with their ledger rows. */
export interface MeteredBudget {
  /** The phase's seq in its run: with the run and the call's index, the reservation's key. */
  seq: number;
  budget: CallBudget;
}

/**
 * `userId` is whose work the calls were (the thread's user), null when nobody's. Outside an
 * activity there is no key and nothing is written, unless a test passes one. With `budgeted`,
 * each call first holds a reservation (the phase's estimate for the first call, what the
 * attempt's calls cost on average for the next ones) or is refused, before any token is spent.
 */
export function meterAttempt(db: Db, userId: string | null, key: AttemptKey | null = currentAttempt(), budgeted?: MeteredBudget): AttemptMeter {
  const calls: LlmUsage[] = [];
  const usage = { record: (entry: LlmUsage) => void calls.push(entry) };
  const held = key && budgeted ? { key: { workflowId: key.workflowId, runId: key.runId, seq: budgeted.seq }, budget: budgeted.budget } : null;
  let invocations = 0;
  const write = async (target: Queryable) => {
    if (!key) return;
    if (calls.length > 0) {
      await target
        .insert(tokenLedger)
        .values(calls.map((entry, call) => ({ ...key, call, userId, ...entry })))
        .onConflictDoNothing();
    }
    if (held) await settleCalls(target, held.key);
  };
  // Best effort: the failure that made the work fail is what the caller must see.
  const writeAlone = () => write(db).catch(() => undefined);
  const expected = (index: number) => {
    if (index === 0 || calls.length === 0) return held!.budget.estimate;
    return Math.ceil(calls.reduce((n, c) => n + c.promptTokens + c.completionTokens, 0) / calls.length);
  };
  const reserve = async () => {
    if (!held) return;
    const index = invocations++;
    try {
      await reserveCall(db, held.key, index, expected(index), held.budget);
    } catch (err) {
      // Refused (or unreserved): what the attempt's earlier calls cost is still spent.
      await writeAlone();
      throw err;
    }
  };
  return {
    calls,
    writeAlone,
    async call(fn) {
      await reserve();
      const before = calls.length;
      try {
        return await fn({ signal: activitySignal(), usage });
      } catch (err) {
        if (calls.length > before) await writeAlone();
        throw err;
      }
    },
    async inTransaction(fn) {
      try {
        return await db.transaction(async (tx) => {
          await write(tx);
          return fn(tx);
        });
      } catch (err) {
        await writeAlone();
        throw err;
      }
    },
  };
}
