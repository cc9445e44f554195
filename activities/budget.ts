/**
 * A workflow's token budget, held per model call (issue 19): before a call, a reservation row
 * holds what it is expected to cost; the call is refused (`BudgetExhausted`, non-retryable:
 * the workflow wraps up instead) when the tokens spent (the ledger, every run and attempt of the
 * workflow id) plus the reservations still open plus this one, plus the room kept for the
 * phases that must still run, would pass the budget. After the call its ledger row is written
 * and its reservation deleted in one transaction (../usage.ts `meterAttempt`), so a call is
 * counted as a reservation or as spent, never both. A reservation is keyed by (workflow id,
 * run id, phase seq, call index), not by attempt: a crash between reserve and settle leaves one
 * row, which the retried attempt rewrites instead of adding a second. Only one run of a workflow
 * id is open at a time (continue-as-new closes one before the next starts; a failed run's id is
 * started again only after it closed), so a reservation of another run is a leftover of a crash
 * that run never came back from: it is held against nobody, and the next reservation deletes it.
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { budgetReservations, tokenLedger } from './db/schema/index.js';
import { failure } from './errors.js';
import type { Queryable } from './events.js';

/** What a phase request says about the budget (the workflow decides it; the activity holds it). */
export interface CallBudget {
  /** The workflow id's budget in tokens (every run, every attempt). */
  limit: number;
  /** What the phase is expected to cost: its first call holds this. */
  estimate: number;
  /** Tokens kept free for what must still run after this phase (the synthesis). */
  keep: number;
  /** The wrap-up: reserved and settled like any call, never refused (its room was kept). */
  mustRun?: boolean;
}

/** One phase's reservations: the call's index completes the key. */
export interface ReservationKey {
  workflowId: string;
  runId: string;
  seq: number;
}

/** A lock per workflow id, held to the end of the reserving transaction: two calls reserving at once queue. */
const lockOf = (workflowId: string) => sql`select pg_advisory_xact_lock(hashtextextended(${`budget:${workflowId}`}, 0))`;

/**
 * Spent plus held, in one statement: one snapshot, so a settle committing between two reads
 * can neither be missed on both sides nor counted on both. Held is this run's reservations; the
 * call's own key is left out (a retry replaces it).
 */
export async function committedTokens(db: Queryable, key: ReservationKey, call: number): Promise<number> {
  const rows = await db.execute<{ total: string }>(sql`select (
    (select coalesce(sum(${tokenLedger.promptTokens} + ${tokenLedger.completionTokens}), 0) from ${tokenLedger} where ${tokenLedger.workflowId} = ${key.workflowId})
    + (select coalesce(sum(${budgetReservations.tokens}), 0) from ${budgetReservations}
       where ${budgetReservations.workflowId} = ${key.workflowId} and ${budgetReservations.runId} = ${key.runId}
         and not (${budgetReservations.runId} = ${key.runId} and ${budgetReservations.seq} = ${key.seq} and ${budgetReservations.call} = ${call}))
  )::bigint as total`);
  const row = rows[0];
  return Number(row?.total ?? 0);
}

/** Holds `tokens` for call `call` of the phase, or refuses it (nothing held) when it would pass the budget. */
export async function reserveCall(db: Db, key: ReservationKey, call: number, tokens: number, budget: CallBudget): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(lockOf(key.workflowId));
    await tx.delete(budgetReservations).where(and(eq(budgetReservations.workflowId, key.workflowId), ne(budgetReservations.runId, key.runId)));
    const committed = await committedTokens(tx, key, call);
    const needed = committed + tokens + (budget.mustRun ? 0 : budget.keep);
    if (!budget.mustRun && needed > budget.limit) {
      throw failure('BudgetExhausted', `the token budget (${budget.limit}) would be passed: ${committed} spent or held, ${tokens} more expected`);
    }
    await tx.insert(budgetReservations).values({ ...key, call, tokens })
      .onConflictDoUpdate({ target: [budgetReservations.workflowId, budgetReservations.runId, budgetReservations.seq, budgetReservations.call], set: { tokens, createdAt: sql`now()` } });
  });
}

/** Settles the phase's reservations: run in the transaction that writes the calls' ledger rows. */
export async function settleCalls(target: Queryable, key: ReservationKey, calls?: number[]): Promise<void> {
  const mine = and(eq(budgetReservations.workflowId, key.workflowId), eq(budgetReservations.runId, key.runId), eq(budgetReservations.seq, key.seq));
  await target.delete(budgetReservations).where(calls ? and(mine, inArray(budgetReservations.call, calls)) : mine);
}
