/**
 * The research loop (issue 19): Plan, then rounds of Search → Extract → Evaluate until the
 * questions are answered, `maxIterations` rounds ran, K rounds in a row found nothing new
 * (stalled), the next round would pass the token budget, or nothing could be searched; then
 * evidence feedback and Synthesize. Each phase is one activity (./phases.ts). When the context
 * carried into the next prompt is used up, or the server suggests it, the loop hands over:
 * the caller continues as new with the carry (ids, a summary in words).
 */
import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { researchProgressQuery } from '../messages.js';
import type { Activities } from '../../activities/index.js';
import type { ResearchSettings } from '../../activities/research/activities.js';
import type { StopReason } from '../../activities/research/synthesize.js';
import { research as researchPolicy, researchBookkeeping } from '../policies.js';
import type { ResearchCarry, ResearchInput } from '../types.js';
import { callBudget, fits, refusedByBudget, ROUND_PHASES } from './budget.js';
import { percentOf, phase, phaseRequest, type AgentRun } from './phases.js';

const acts = proxyActivities<Activities>(researchPolicy);
const withSummary = (summary: string) => ({ ...researchPolicy, summary });

/** Queries remembered as searched (the evaluation avoids them); a bound on the carry. */
const SEARCHED_MAX = 50;

export interface LoopState {
  carry: ResearchCarry;
  settings: ResearchSettings;
  tokensSpent: number;
  /** Tokens of sources and findings this run carries into its next prompt. */
  contextTokens: number;
  phase: string;
}

/**
 * A run's loop state: from the carry a continued run was handed (its run count up by one), or
 * empty for the first; answered by the `researchProgress` query while the run lives.
 */
export function openLoopState(carried: ResearchCarry | undefined): LoopState {
  const carry: ResearchCarry = carried
    ? { ...carried, runs: carried.runs + 1 }
    : { questions: [], queries: [], searched: [], iteration: 0, stallRounds: 0, sourceIds: [], findingIds: [], dropped: {}, providers: [], notes: [], handoff: '', runs: 1, phaseCost: {} };
  const state: LoopState = { carry, settings: { budgetTokens: 0, maxIterations: 0, stallRounds: 0, contextTokens: 0 }, tokensSpent: 0, contextTokens: 0, phase: 'start' };
  setHandler(researchProgressQuery, () => ({
    phase: state.phase, iteration: carry.iteration, sources: carry.sourceIds.length, findings: carry.findingIds.length, tokensSpent: state.tokensSpent, runs: carry.runs,
  }));
  return state;
}

export type LoopOutcome = { kind: 'done'; stopReason: StopReason } | { kind: 'handoff' };

const STOP_NOTES: Record<StopReason, string> = {
  answered: 'The research ended when further searching added nothing the questions needed.',
  max_iterations: 'The research ended after its maximum number of search rounds.',
  stalled: 'The research stopped early: its last rounds found nothing new (stalled).',
  budget_exhausted: 'The research stopped early: its token budget was used up (budget_exhausted).',
  nothing_searched: 'Nothing could be searched: the case has no documents or evidence, and no web search is configured (RESEARCH_SEARCH_URL).',
  cancelled: 'The research was cancelled: this report holds the findings so far.',
};

export const stopNote = (reason: StopReason) => STOP_NOTES[reason];

/** The workflow id's token budget: the request's, or the config's. */
export const budgetOf = (input: ResearchInput, state: LoopState) => input.budgetTokens ?? state.settings.budgetTokens;

/** What phase `step` holds per model call against the budget. */
export const budgetFor = (input: ResearchInput, state: LoopState, step: string) => callBudget(budgetOf(input, state), state.carry.phaseCost, step);

/** A phase whose call the budget refused: undefined, and the loop wraps up (budget_exhausted). */
async function budgeted<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (refusedByBudget(err)) return undefined;
    throw err;
  }
}

/** Plan: the first run's first phase; false when the budget refused it (straight to the synthesis). */
export async function plan(run: AgentRun, input: ResearchInput, state: LoopState): Promise<boolean> {
  const topic = input.topic ?? 'the case';
  const planned = await budgeted(() => phase(run, 'plan', () =>
    acts.researchPlan.executeWithOptions(withSummary(`Plan research on "${topic.slice(0, 80)}"`), [{ ...phaseRequest(run, 0, 5), topic, budget: budgetFor(input, state, 'plan') }]),
  ));
  if (!planned) return false;
  state.tokensSpent = planned.tokensSpent;
  state.carry.phaseCost.plan = planned.tokens;
  state.carry.questions = planned.questions;
  state.carry.queries = planned.queries;
  return true;
}

function remember(carry: ResearchCarry, queries: string[]): void {
  carry.searched = [...carry.searched, ...queries.filter((q) => !carry.searched.includes(q))].slice(-SEARCHED_MAX);
}

/** The rounds, from where the carry left off. */
export async function rounds(run: AgentRun, input: ResearchInput, state: LoopState): Promise<LoopOutcome> {
  const { carry, settings } = state;
  const topic = input.topic ?? 'the case';
  const max = input.maxIterations ?? settings.maxIterations;
  const stallLimit = input.stallRounds ?? settings.stallRounds;
  const budget = budgetOf(input, state);
  while (carry.iteration < max) {
    const over = (next: readonly string[]) => !fits(state.tokensSpent, budget, carry.phaseCost, next);
    if (over(ROUND_PHASES)) return { kind: 'done', stopReason: 'budget_exhausted' };
    if (state.contextTokens > (input.contextTokens ?? settings.contextTokens) || workflowInfo().continueAsNewSuggested) return { kind: 'handoff' };
    const i = carry.iteration + 1;
    state.phase = 'search';
    const found = await budgeted(() => phase(run, 'search', () =>
      acts.researchSearch.executeWithOptions(withSummary(`Round ${i}: search ${carry.queries.length} quer(ies)`), [
        { ...phaseRequest(run, i, percentOf(i, max, 0)), queries: carry.queries, budget: budgetFor(input, state, 'search') },
      ]),
    ));
    if (!found) return { kind: 'done', stopReason: 'budget_exhausted' };
    carry.iteration = i;
    state.tokensSpent = found.tokensSpent;
    carry.phaseCost.search = found.tokens;
    carry.providers = [...new Set([...carry.providers, ...found.providers])];
    carry.notes = [...carry.notes, ...found.notes].slice(-10);
    remember(carry, carry.queries);
    if (found.providers.length === 0) return { kind: 'done', stopReason: 'nothing_searched' };
    carry.sourceIds.push(...found.sourceIds);
    state.contextTokens += found.contextTokens;
    if (found.sourceIds.length === 0) {
      // An empty search: a stalled round; the same queries would find the same nothing.
      carry.stallRounds += 1;
      if (carry.stallRounds >= stallLimit) return { kind: 'done', stopReason: 'stalled' };
      continue;
    }
    if (over(['extract'])) return { kind: 'done', stopReason: 'budget_exhausted' };
    state.phase = 'extract';
    const extracted = await budgeted(() => phase(run, 'extract', () =>
      acts.researchExtract.executeWithOptions(withSummary(`Round ${i}: extract findings from ${found.sourceIds.length} source(s)`), [
        { ...phaseRequest(run, i, percentOf(i, max, 0.4)), topic, questions: carry.questions, sourceIds: found.sourceIds, budget: budgetFor(input, state, 'extract') },
      ]),
    ));
    if (!extracted) return { kind: 'done', stopReason: 'budget_exhausted' };
    state.tokensSpent = extracted.tokensSpent;
    carry.phaseCost.extract = extracted.tokens;
    carry.findingIds.push(...extracted.findingIds);
    for (const [reason, n] of Object.entries(extracted.dropped)) carry.dropped[reason] = (carry.dropped[reason] ?? 0) + (n ?? 0);
    state.contextTokens += extracted.contextTokens;
    if (over(['evaluate'])) return { kind: 'done', stopReason: 'budget_exhausted' };
    state.phase = 'evaluate';
    const evaluated = await budgeted(() => phase(run, 'evaluate', () =>
      acts.researchEvaluate.executeWithOptions(withSummary(`Round ${i}: evaluate ${extracted.findingIds.length} finding(s)`), [
        { ...phaseRequest(run, i, percentOf(i, max, 0.8)), topic, questions: carry.questions, findingIds: extracted.findingIds, searched: carry.searched, budget: budgetFor(input, state, 'evaluate') },
      ]),
    ));
    if (!evaluated) return { kind: 'done', stopReason: 'budget_exhausted' };
    state.tokensSpent = evaluated.tokensSpent;
    carry.phaseCost.evaluate = evaluated.tokens;
    carry.stallRounds = evaluated.novel === 0 ? carry.stallRounds + 1 : 0;
    if (carry.stallRounds >= stallLimit) return { kind: 'done', stopReason: 'stalled' };
    if (!evaluated.goOn) return { kind: 'done', stopReason: 'answered' };
    carry.queries = evaluated.nextQueries;
  }
  return { kind: 'done', stopReason: 'max_iterations' };
}

/** The summary a continued run starts from (the handoff), read from the findings. */
export async function handoff(run: AgentRun, state: LoopState): Promise<void> {
  const { summary } = await phase(run, 'handoff', () =>
    acts.researchHandoff.executeWithOptions({ ...researchBookkeeping, summary: 'Hand off to a new run' }, [{ workflowId: run.workflowId }]),
  );
  state.carry.handoff = summary;
}
