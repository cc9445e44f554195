/**
 * Budget reservations (issue 19; activities/budget.ts): each metered call holds a row before it
 * runs and is settled with its ledger row. A crash between reserve and settle leaves one row,
 * which the retried attempt rewrites, never a second; calls reserving at once cannot overshoot
 * the budget; a refused call is a `BudgetExhausted` failure the workflow wraps up on, and what the
 * attempt's earlier calls cost still reaches the ledger.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedTokens, type CallBudget } from '../../activities/budget.js';
import { budgetReservations, tokenLedger } from '../../activities/db/schema/index.js';
import type { LlmCall } from '../../activities/llm/metering.js';
import { meterAttempt, type AttemptKey } from '../../activities/usage.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const attempt = (workflowId: string, activityId: string, n: number): AttemptKey => ({ workflowId, runId: 'run-1', activityId, attempt: n });

/** A model call that costs `tokens` (after `ms`), as a purpose reports it. */
const paid = (tokens: number, ms = 0) => async (call: LlmCall) => {
  await new Promise((r) => setTimeout(r, ms));
  call.usage?.record({ purpose: 'research-extract', provider: 'local', model: 'fake', promptTokens: tokens - 10, completionTokens: 10, latencyMs: ms });
  return tokens;
};

async function open(workflowId: string) {
  return database.db.select().from(budgetReservations).where(eq(budgetReservations.workflowId, workflowId));
}

async function spent(workflowId: string) {
  const rows = await database.db.select().from(tokenLedger).where(eq(tokenLedger.workflowId, workflowId));
  return rows.reduce((n, r) => n + r.promptTokens + r.completionTokens, 0);
}

describe('budget reservations', () => {
  it('a reservation an earlier run of the workflow id left (it crashed, then the run ended) is not held against the next run, and goes', async () => {
    const workflowId = `research-${randomUUID()}`;
    const budget: CallBudget = { limit: 1_500, estimate: 1_000, keep: 500 };
    // Run 1 dies mid-call and never comes back (its run failed or timed out): its reservation stays.
    const lost = meterAttempt(database.db, null, attempt(workflowId, '3', 1), { seq: 2, budget });
    await expect(lost.call(async () => { throw new Error('worker killed'); })).rejects.toThrow('worker killed');
    // Only one run of a workflow id is open at a time: a later run's call is not refused by run 1's leftover.
    const next = meterAttempt(database.db, null, { workflowId, runId: 'run-2', activityId: '3', attempt: 1 }, { seq: 2, budget });
    await expect(next.call(paid(900))).resolves.toBe(900);
    expect((await open(workflowId)).map((r) => r.runId)).toEqual(['run-2']);
  });

  it('a crash after reserve leaves one reservation, which the retry rewrites: counted once', async () => {
    const workflowId = `research-${randomUUID()}`;
    // Room for one call of 1 000 and the synthesis's 500, no more.
    const budget: CallBudget = { limit: 1_500, estimate: 1_000, keep: 500 };
    const first = meterAttempt(database.db, null, attempt(workflowId, '3', 1), { seq: 2, budget });
    // The worker dies mid-call: reserved, never settled.
    await expect(first.call(async () => { throw new Error('worker killed'); })).rejects.toThrow('worker killed');
    expect(await open(workflowId)).toMatchObject([{ seq: 2, call: 0, tokens: 1_000 }]);

    // The retried attempt of the same phase reserves the same key: its own crashed row is not counted against it.
    const retry = meterAttempt(database.db, null, attempt(workflowId, '3', 2), { seq: 2, budget });
    await expect(retry.call(paid(900))).resolves.toBe(900);
    expect(await open(workflowId)).toHaveLength(1);
    await retry.inTransaction(async () => undefined);

    expect(await open(workflowId)).toEqual([]);
    expect(await spent(workflowId)).toBe(900);
    expect(await committedTokens(database.db, { workflowId, runId: 'run-1', seq: 99 }, 0)).toBe(900);
  });

  it('refuses a call that would pass the budget (BudgetExhausted, not retried), keeping what the earlier calls cost', async () => {
    const workflowId = `research-${randomUUID()}`;
    const budget: CallBudget = { limit: 2_000, estimate: 800, keep: 500 };
    const meter = meterAttempt(database.db, null, attempt(workflowId, '5', 1), { seq: 4, budget });
    await meter.call(paid(1_400));
    // Held 800 for the first call, then 1 400 (what a call of this attempt costs): 800 + 1 400 + 500 > 2 000.
    const refused = await meter.call(paid(100)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect(refused).toMatchObject({ type: 'BudgetExhausted', nonRetryable: true });
    expect(await spent(workflowId)).toBe(1_400);
    expect(await open(workflowId)).toEqual([]);
  });

  it('the wrap-up (mustRun) is reserved and settled, never refused', async () => {
    const workflowId = `research-${randomUUID()}`;
    const over = meterAttempt(database.db, null, attempt(workflowId, '1', 1), { seq: 1, budget: { limit: 100, estimate: 1_000, keep: 0 } });
    await expect(over.call(paid(50))).rejects.toMatchObject({ type: 'BudgetExhausted' });
    const wrapUp = meterAttempt(database.db, null, attempt(workflowId, '9', 1), { seq: 9, budget: { limit: 100, estimate: 1_000, keep: 0, mustRun: true } });
    await wrapUp.call(paid(300));
    await wrapUp.inTransaction(async () => undefined);
    expect(await spent(workflowId)).toBe(300);
    expect(await open(workflowId)).toEqual([]);
  });

  it('calls reserving at once cannot overshoot: the budget admits as many as fit', async () => {
    const workflowId = `research-${randomUUID()}`;
    const budget: CallBudget = { limit: 3_000, estimate: 1_000, keep: 0 };
    const phases = Array.from({ length: 6 }, (_, i) => meterAttempt(database.db, null, attempt(workflowId, String(i + 10), 1), { seq: i + 10, budget }));
    const outcomes = await Promise.allSettled(phases.map(async (meter) => {
      await meter.call(paid(1_000, 50));
      await meter.inTransaction(async () => undefined);
    }));
    const admitted = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(admitted).toBe(3);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ type: 'BudgetExhausted' });
    expect(await spent(workflowId)).toBe(3_000);
    expect(await open(workflowId)).toEqual([]);
  });
});
