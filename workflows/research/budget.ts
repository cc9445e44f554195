/**
 * The research loop's decisions that are arithmetic, pure so a unit test reads them: whether the
 * next round fits the token budget (each phase's last cost, or a default before it ran), and
 * whether the carried context is used up (continue-as-new with a handoff); and what each phase
 * holds per model call (activities/budget.ts), which may refuse a call the workflow's own
 * check let through (the estimate was low, or the ledger moved): a refusal is the same
 * wrap-up, not a failure.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { CallBudget } from '../../activities/budget.js';
import type { ErrorType } from '../types.js';

/** Tokens a phase is expected to cost before it has run once (the `local` rules spend about this on a small case). */
export const DEFAULT_PHASE_COST: Record<string, number> = { plan: 1_000, search: 100, extract: 4_000, evaluate: 1_000, synthesize: 3_000 };

export const ROUND_PHASES = ['search', 'extract', 'evaluate'] as const;

export function estimateOf(phaseCost: Record<string, number>, phases: readonly string[]): number {
  return phases.reduce((n, p) => n + (phaseCost[p] ?? DEFAULT_PHASE_COST[p] ?? 0), 0);
}

/** Whether the next phases and the synthesis after them still fit the budget. */
export function fits(spent: number, budget: number, phaseCost: Record<string, number>, next: readonly string[]): boolean {
  return spent + estimateOf(phaseCost, [...next, 'synthesize']) <= budget;
}

/** What phase `step` holds per call: its estimate, with the synthesis's room kept (the synthesis itself is never refused). */
export function callBudget(limit: number, phaseCost: Record<string, number>, step: string): CallBudget {
  if (step === 'synthesize') return { limit, estimate: estimateOf(phaseCost, ['synthesize']), keep: 0, mustRun: true };
  return { limit, estimate: estimateOf(phaseCost, [step]), keep: estimateOf(phaseCost, ['synthesize']) };
}

/** Whether a phase failed because a call was refused by the budget (go to the synthesis). */
export function refusedByBudget(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === ('BudgetExhausted' satisfies ErrorType);
}
