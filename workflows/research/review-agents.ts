/**
 * critiqueAgent and briefAgent (issue 20; catalog entries `critique` and `brief`, queue
 * `research`, ids `agent-<type>-<caseId>-<correlationId>`): research's loop over the case
 * (Plan → rounds of Search → Extract → Evaluate, ./loop.ts) under research's budget, progress,
 * placeholder, deadline and failure path, then their own writing phase instead of research's
 * evidence feedback and synthesis (a review adds no evidence to the case it reviews):
 * - the critique writes a cited critique artifact and its annotations on the brief (source `critique`);
 * - the brief writes a full cited brief artifact, the document a person would send.
 * The topic defaults to the case's title. Any failure marks the row and placeholder `failed`
 * with the step that failed and emits AGENT_FAILED.
 */
import { continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { StopReason } from '../../activities/research/synthesize.js';
import { failureReason, runBounded } from '../failures.js';
import { research as researchPolicy, researchBookkeeping, TASK_TIME_LIMIT_MS } from '../policies.js';
import type { ResearchInput, ReviewResult } from '../types.js';
import { budgetFor, handoff, openLoopState, plan, rounds, stopNote, type LoopState } from './loop.js';
import { finishFailed, newAgentRun, phase, phaseRequest, type AgentRun } from './phases.js';

const acts = proxyActivities<Activities>(researchPolicy);
const book = (summary: string) => ({ ...researchBookkeeping, summary });

type ReviewKind = 'critique' | 'brief';

export async function critiqueAgent(input: ResearchInput): Promise<ReviewResult> {
  return reviewAgent('critique', input);
}

export async function briefAgent(input: ResearchInput): Promise<ReviewResult> {
  return reviewAgent('brief', input);
}

async function reviewAgent(kind: ReviewKind, first: ResearchInput): Promise<ReviewResult> {
  const { workflowId } = workflowInfo();
  const deadlineAt = first.deadlineAt ?? Date.now() + (first.timeLimitMs ?? TASK_TIME_LIMIT_MS);
  const run = newAgentRun(workflowId, first);
  const state = openLoopState(first.carry);
  const { carry } = state;
  // The topic is resolved once (the case's title by default) and carried across continue-as-new.
  const job = { input: first };
  const outcome = await runBounded({
    limit: Math.max(1, deadlineAt - Date.now()),
    work: () => work(kind, run, job, state),
    reasonOf: (err) => failureReason(err, `${run.step} failed`),
    what: kind,
    fields: { caseId: first.caseId },
    cleanup: (reason) => finishFailed(run, run.step, kind, reason, `The ${kind} agent failed at step "${run.step}": ${reason}`),
  });
  if (outcome.kind === 'handoff') {
    log.info(`${kind} continues as new`, { workflowId, iteration: carry.iteration, runs: carry.runs });
    return continueAsNew<typeof critiqueAgent>({ ...job.input, deadlineAt, carry });
  }
  return outcome.result;
}

type WorkOutcome = { kind: 'handoff' } | { kind: 'done'; result: ReviewResult };

async function work(kind: ReviewKind, run: AgentRun, job: { input: ResearchInput }, state: LoopState): Promise<WorkOutcome> {
  state.settings = await phase(run, 'settings', () => acts.researchSettings.executeWithOptions(book(`Read the ${kind} defaults`), []));
  if (!job.input.carry) {
    await phase(run, 'claim', () => acts.claimAgentRun.executeWithOptions(book(`Take the ${kind} run`), [{ workflowId: run.workflowId }]));
    const { topic } = await phase(run, 'topic', () =>
      acts.agentTopic.executeWithOptions(book('Read what to look at'), [{ caseId: run.caseId, topic: job.input.topic }]),
    );
    job.input = { ...job.input, topic };
    await plan(run, job.input, state);
  }
  const looped = await rounds(run, job.input, state);
  if (looped.kind === 'handoff') {
    await handoff(run, state);
    return looped;
  }
  return { kind: 'done', result: await conclude(kind, run, job.input, state, looped.stopReason) };
}

/** The writing phase, then the end of the row and placeholder with the artifact's link. */
async function conclude(kind: ReviewKind, run: AgentRun, input: ResearchInput, state: LoopState, stopReason: StopReason): Promise<ReviewResult> {
  const { carry } = state;
  state.phase = kind;
  const facts = { iterations: carry.iteration, runs: carry.runs, providers: carry.providers, sources: carry.sourceIds.length, dropped: carry.dropped, tokensSpent: state.tokensSpent };
  const request = { ...phaseRequest(run, carry.iteration + 1, 95), topic: input.topic ?? 'the case', stopReason, notes: [stopNote(stopReason), ...carry.notes], facts, budget: budgetFor(input, state, 'synthesize') };
  const written = await phase(run, kind, () =>
    kind === 'critique'
      ? acts.critiqueWrite.executeWithOptions({ ...researchPolicy, summary: 'Write the critique and its annotations' }, [request])
      : acts.briefWrite.executeWithOptions({ ...researchPolicy, summary: 'Write the brief' }, [request]),
  );
  state.phase = 'done';
  const what = kind === 'critique' ? `Critique complete (${written.issues} issue(s))` : 'Brief complete';
  await phase(run, 'finish', () =>
    acts.finishAgentRun.executeWithOptions(book(what), [{
      workflowId: run.workflowId, outcome: 'completed', content: `${what}: /v1/artifacts/${written.artifactId} (${carry.findingIds.length} finding(s), ${stopReason})`,
    }]),
  );
  return { artifactId: written.artifactId, version: written.version, stopReason, findings: carry.findingIds.length, issues: written.issues, citations: written.citations };
}
