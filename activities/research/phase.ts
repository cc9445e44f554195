/**
 * What every phase of an agent's loop does besides its work (research now; the critique and
 * brief agents of the roadmap reuse it): in the transaction that stores the phase's result,
 * its progress row (seq chosen by the workflow, so a retry rewrites the same row), the
 * placeholder's content (step, percent, what is being read), the opt-in trajectory row, and
 * the ledger rows of its model calls; then the tokens the whole workflow id has spent so far,
 * read back from the ledger, which is what the workflow's budget is settled against.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { CallBudget } from '../budget.js';
import type { Db } from '../db/client.js';
import { agentRuns, messages, researchSteps, tokenLedger } from '../db/schema/index.js';
import type { Queryable, Tx } from '../events.js';
import { keepAlive } from '../heartbeat.js';
import { recordProgress } from '../progress.js';
import { meterAttempt, type AttemptMeter } from '../usage.js';

/** What every phase request carries. */
export interface PhaseRequest {
  workflowId: string;
  caseId: string;
  userId: string;
  /** The loop's round (0 for the plan, the round for search/extract/evaluate, the last round + 1 for the synthesis). */
  iteration: number;
  /** The progress row's seq in this run. */
  seq: number;
  /** The placeholder says this while the next phase runs. */
  percent: number;
  recordTrajectory?: boolean;
  /**
   * The key the phase's sources and findings are stored under (default `workflowId`): an
   * inquiry's run scopes them to the version it writes, so a new version reads afresh.
   */
  scope?: string;
  /** The workflow's token budget as this phase holds it per call (../budget.ts); none: unmetered against a budget. */
  budget?: CallBudget;
}

/** The key a phase's sources and findings are stored under. */
export const scopeOf = (req: PhaseRequest) => req.scope ?? req.workflowId;

/** What every phase answers besides its own result. */
export interface PhaseReport {
  /** Tokens the workflow id has spent so far (every run, every attempt), from the ledger. */
  tokensSpent: number;
  /** Tokens this attempt's calls cost. */
  tokens: number;
}

export interface PhaseRecord {
  step: string;
  /** The placeholder's line: what the agent is doing, readable. */
  content: string;
  /** The progress row's small counts. */
  counts: Record<string, unknown>;
  /** The trajectory row (when recorded). */
  trajectory?: { input: Record<string, unknown>; output: Record<string, unknown>; sourceIds?: string[] };
}

export async function tokensSpentBy(db: Queryable, workflowId: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<number>`coalesce(sum(${tokenLedger.promptTokens} + ${tokenLedger.completionTokens}), 0)::int` })
    .from(tokenLedger)
    .where(eq(tokenLedger.workflowId, workflowId));
  return row?.total ?? 0;
}

const tokensOf = (meter: AttemptMeter) => meter.calls.reduce((n, c) => n + c.promptTokens + c.completionTokens, 0);

/** The placeholder of the run's agent_runs row, while it is pending (an ended one is not rewritten). */
async function updatePlaceholder(tx: Tx, workflowId: string, content: string): Promise<void> {
  const [run] = await tx.select({ placeholder: agentRuns.placeholderMessageId }).from(agentRuns).where(eq(agentRuns.workflowId, workflowId));
  if (!run?.placeholder) return;
  await tx.update(messages).set({ content }).where(and(eq(messages.id, run.placeholder), eq(messages.status, 'pending')));
}

/**
 * Runs one phase: `work` gets a meter for its model calls (and beats while it runs, so a dead
 * worker is noticed within the heartbeat timeout and a cancellation reaches it), then `store`
 * writes its result in the transaction that also writes the bookkeeping above.
 */
export async function runPhase<W, R>(
  db: Db,
  req: PhaseRequest,
  work: (meter: AttemptMeter) => Promise<W>,
  store: (tx: Tx, worked: W) => Promise<{ result: R; record: PhaseRecord }>,
): Promise<R & PhaseReport> {
  const meter = meterAttempt(db, req.userId, undefined, req.budget ? { seq: req.seq, budget: req.budget } : undefined);
  const startedAt = performance.now();
  const worked = await keepAlive(() => work(meter));
  const result = await meter.inTransaction(async (tx) => {
    const { result, record } = await store(tx, worked);
    const tokens = tokensOf(meter);
    await recordProgress(tx, { seq: req.seq, payload: { step: record.step, iteration: req.iteration, percent: req.percent, tokens, ...record.counts } });
    await updatePlaceholder(tx, req.workflowId, record.content);
    if (req.recordTrajectory && record.trajectory) {
      const row = {
        workflowId: req.workflowId, phase: record.step, iteration: req.iteration, input: record.trajectory.input, output: record.trajectory.output,
        sourceIds: record.trajectory.sourceIds ?? [], tokens, latencyMs: Math.round(performance.now() - startedAt),
      };
      await tx.insert(researchSteps).values(row).onConflictDoUpdate({
        target: [researchSteps.workflowId, researchSteps.phase, researchSteps.iteration],
        set: { input: row.input, output: row.output, sourceIds: row.sourceIds, tokens: row.tokens, latencyMs: row.latencyMs },
      });
    }
    return result;
  });
  return { ...result, tokens: tokensOf(meter), tokensSpent: await tokensSpentBy(db, req.workflowId) };
}
