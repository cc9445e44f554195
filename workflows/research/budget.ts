/**
 * The research loop's decisions that are arithmetic, pure so a unit test reads them: whether the
 * next round fits the token budget (each phase's last cost, or a default before it ran), and
 * whether the carried context is used up (continue-as-new with a handoff).
 */

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
