/**
 * What a scenario is: a name, what it measures, and a `run` that returns rows. The runner
 * prints and stores every scenario's rows the same way, so a new scenario is one module in
 * bench/scenarios/ plus one entry in bench/scenarios/index.ts.
 */
import type { BenchOptions } from './options.js';
import type { Harness } from './harness.js';
import type { LogCounts } from './sdk-log.js';
import type { RateResult } from './load.js';
import type { Summary } from './stats.js';
import type { WorkflowTaskAudit } from './workflow-task-audit.js';

export interface LatencyRow {
  label: string;
  summary: Summary;
}

export interface RateRow {
  label: string;
  rate: RateResult;
}

/** casework against a baseline, with the goal it is held to. */
export interface RatioRow {
  label: string;
  value: number;
  goal: string;
  met: boolean;
}

/** What went wrong in the workflow tasks of one phase, from the worker's log and from the histories. */
export interface WorkflowTaskRow {
  label: string;
  sdkLog: LogCounts;
  audit: WorkflowTaskAudit;
}

export interface ScenarioResult {
  latency: LatencyRow[];
  rates: RateRow[];
  ratios: RatioRow[];
  workflowTasks: WorkflowTaskRow[];
  /** Anything else worth a line, e.g. LLM calls per chat turn. */
  notes: { label: string; value: string }[];
}

export interface ScenarioContext {
  harness: Harness;
  options: BenchOptions;
  /** The results of scenarios that ran earlier in this run (`needs` guarantees the ones named). */
  earlier: ReadonlyMap<string, ScenarioResult>;
}

export interface Scenario {
  name: string;
  description: string;
  /** Scenarios this one compares against: they run first, in the same run (DESIGN.md Decision 13). */
  needs?: string[];
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

export const emptyResult = (): ScenarioResult => ({ latency: [], rates: [], ratios: [], workflowTasks: [], notes: [] });

export function ratio(label: string, value: number, goal: { atMost?: number; atLeast?: number }): RatioRow {
  const met = (goal.atMost === undefined || value <= goal.atMost) && (goal.atLeast === undefined || value >= goal.atLeast);
  const text = goal.atMost !== undefined ? `≤ ${goal.atMost}×` : `≥ ${goal.atLeast}×`;
  return { label, value, goal: text, met };
}
