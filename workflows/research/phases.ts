/**
 * The shape every phase of an agent's loop shares (research now; the critique and brief agents
 * reuse it): one activity per phase, so the workflow's state is the checkpoint and a worker
 * killed at any point resumes after the last finished phase; each phase held through a
 * database outage (Decision 28); the step in progress named, so a failure says which step
 * failed; progress rows numbered by the run (a retried phase rewrites its own row).
 */
import { holdThroughOutage, newHold, type OutageHold } from '../outage-hold.js';

export interface AgentRun {
  workflowId: string;
  caseId: string;
  userId: string;
  recordTrajectory?: boolean;
  hold: OutageHold;
  /** The progress row the next phase writes (rows are per run: each run starts at 1). */
  seq: number;
  /** The phase running now (or last run): what a failure names. */
  step: string;
}

export function newAgentRun(workflowId: string, input: { caseId: string; userId: string; recordTrajectory?: boolean; outageHoldMs?: number }): AgentRun {
  return {
    workflowId, caseId: input.caseId, userId: input.userId, recordTrajectory: input.recordTrajectory,
    hold: newHold(input.outageHoldMs, 'per-outage'), seq: 0, step: 'start',
  };
}

/** What every phase request carries (activities/research/phase.ts `PhaseRequest`). */
export function phaseRequest(run: AgentRun, iteration: number, percent: number) {
  run.seq += 1;
  return { workflowId: run.workflowId, caseId: run.caseId, userId: run.userId, iteration, seq: run.seq, percent, recordTrajectory: run.recordTrajectory };
}

/** Runs one phase: named (for a failure's message), held through an outage. */
export async function phase<T>(run: AgentRun, step: string, fn: () => Promise<T>): Promise<T> {
  run.step = step;
  return holdThroughOutage(run.hold, step, fn);
}

/** The placeholder's percent for a phase of a round (plan 5 %, rounds share 10-90 %, synthesis 95 %). */
export function percentOf(iteration: number, maxIterations: number, within: number): number {
  const share = 80 / Math.max(1, maxIterations);
  return Math.min(90, Math.round(10 + share * (iteration - 1) + share * within));
}
