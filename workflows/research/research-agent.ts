/**
 * researchAgent (issue 19; the seed's `generate_research_artifact_v2`): queue `research`, id
 * `research-<caseId>-<correlationId>`, started through the agent catalog's one start
 * (Decision 29), which committed its `agent_runs` row and placeholder. It takes its row, plans,
 * runs its rounds (./loop.ts), turns its findings of relevance ≥ 0.6 into evidence (children
 * that outlive it), writes the artifact and ends its row and placeholder `completed` with the
 * artifact's link. Its 30-minute limit is an absolute deadline carried across continue-as-new
 * and enforced in the workflow, so the failure path still runs: any failure marks the row and
 * placeholder `failed` with the step that failed and emits AGENT_FAILED; a cancellation first
 * writes a partial artifact from the findings so far, marked `cancelled`.
 */
import { continueAsNew, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { StopReason } from '../../activities/research/synthesize.js';
import { startEvidenceIngestion } from '../evidence/start-ingestion.js';
import { failureReason, runBounded } from '../failures.js';
import { research as researchPolicy, researchBookkeeping, TASK_TIME_LIMIT_MS } from '../policies.js';
import type { ResearchInput, ResearchResult } from '../types.js';
import { budgetFor, handoff, openLoopState, plan, rounds, stopNote, type LoopState } from './loop.js';
import { RESEARCH_PATCHES } from './patches.js';
import { finishFailed, newAgentRun, phase, phaseRequest, type AgentRun } from './phases.js';

const acts = proxyActivities<Activities>(researchPolicy);
const book = (summary: string) => ({ ...researchBookkeeping, summary });

export async function researchAgent(input: ResearchInput): Promise<ResearchResult> {
  const { workflowId } = workflowInfo();
  const deadlineAt = input.deadlineAt ?? Date.now() + (input.timeLimitMs ?? TASK_TIME_LIMIT_MS);
  const run = newAgentRun(workflowId, input);
  const state = openLoopState(input.carry);
  const { carry } = state;
  const outcome = await runBounded({
    limit: Math.max(1, deadlineAt - Date.now()),
    work: () => work(run, input, state),
    reasonOf: (err) => failureReason(err, `${run.step} failed`),
    what: 'research',
    fields: { caseId: input.caseId },
    cleanup: (reason) => fail(run, input, state, reason),
  });
  if (outcome.kind === 'handoff') {
    log.info('research continues as new', { workflowId, iteration: carry.iteration, runs: carry.runs });
    return continueAsNew<typeof researchAgent>({ ...input, deadlineAt, carry });
  }
  return outcome.result;
}

type WorkOutcome = { kind: 'handoff' } | { kind: 'done'; result: ResearchResult };

async function work(run: AgentRun, input: ResearchInput, state: LoopState): Promise<WorkOutcome> {
  state.settings = await phase(run, 'settings', () => acts.researchSettings.executeWithOptions(book('Read the research defaults'), []));
  if (!input.carry) {
    await phase(run, 'claim', () => acts.claimAgentRun.executeWithOptions(book('Take the research run'), [{ workflowId: run.workflowId }]));
    if (!(await plan(run, input, state))) return { kind: 'done', result: await conclude(run, input, state, 'budget_exhausted') };
  }
  const looped = await rounds(run, input, state);
  if (looped.kind === 'handoff') {
    await handoff(run, state);
    return looped;
  }
  return { kind: 'done', result: await conclude(run, input, state, looped.stopReason) };
}

/** Evidence feedback, the artifact, and the end of the row and placeholder. */
async function conclude(run: AgentRun, input: ResearchInput, state: LoopState, stopReason: StopReason): Promise<ResearchResult> {
  const { carry } = state;
  state.phase = 'evidence';
  const fed = await phase(run, 'evidence', () => acts.researchEvidence.executeWithOptions(book('Findings of relevance ≥ 0.6 become evidence'), [phaseRequest(run, carry.iteration, 92)]));
  const waiting = fed.items.filter((item) => item.start);
  const besideSynthesis = patched(RESEARCH_PATCHES.handOverWhileSynthesizing);
  const handover = Promise.allSettled(waiting.map((item) => startEvidenceIngestion(input, item, `Ingest evidence ${item.evidenceId} from research ${run.workflowId}`)));
  if (!besideSynthesis) await handover;
  const artifact = await synthesize(run, input, state, stopReason, fed.items.length);
  const unstarted = (await handover).filter((s) => s.status === 'rejected').length;
  if (unstarted > 0) log.warn('some research evidence was not handed over: the sweep starts it', { workflowId: run.workflowId, unstarted });
  state.phase = 'done';
  await phase(run, 'finish', () =>
    acts.finishAgentRun.executeWithOptions(book('Research complete'), [{
      workflowId: run.workflowId, outcome: 'completed', content: `Research complete: /v1/artifacts/${artifact.artifactId} (${carry.findingIds.length} finding(s), ${stopReason})`,
    }]),
  );
  return { artifactId: artifact.artifactId, version: artifact.version, stopReason, findings: carry.findingIds.length, evidence: fed.items.length };
}

async function synthesize(run: AgentRun, input: ResearchInput, state: LoopState, stopReason: StopReason, evidence: number) {
  const { carry } = state;
  state.phase = 'synthesize';
  const notes = [stopNote(stopReason), ...carry.notes];
  const facts = { iterations: carry.iteration, runs: carry.runs, providers: carry.providers, sources: carry.sourceIds.length, dropped: carry.dropped, evidence, tokensSpent: state.tokensSpent };
  return phase(run, 'synthesize', () =>
    acts.researchSynthesize.executeWithOptions({ ...researchPolicy, summary: `Write the report (${stopReason})` }, [{
      ...phaseRequest(run, carry.iteration + 1, 95), topic: input.topic ?? 'the case', questions: carry.questions, stopReason, notes, facts, budget: budgetFor(input, state, 'synthesize'),
    }]),
  );
}

/** Every way out but success (cancellation included): a partial artifact when cancelled, then the row and placeholder `failed`. */
async function fail(run: AgentRun, input: ResearchInput, state: LoopState, reason: string): Promise<void> {
  const failedStep = run.step;
  let content = `The research agent failed at step "${failedStep}": ${reason}`;
  if (reason === 'cancelled') {
    try {
      const partial = await synthesize(run, input, state, 'cancelled', 0);
      content = `The research was cancelled: partial report at /v1/artifacts/${partial.artifactId}`;
    } catch (err) {
      log.warn('no partial artifact for a cancelled research run', { error: failureReason(err, 'synthesis failed') });
      content = 'The research was cancelled';
    }
  }
  await finishFailed(run, failedStep, 'research', reason, content);
}
