/**
 * The seed's `draft_case_workflow` (Decisions 3, 23, 29): id `draft-case-<threadId>`, queue
 * `chat`, started (or joined) by signal-with-start of `draftRequested` whenever a suggestion
 * is accepted in a thread with no case: its structure suggestion, or an agent. It takes its
 * `agent_runs` row, drafts a case from the thread's signals and attaches the thread (one
 * transaction: the case, the attach, a system message naming the case, CASE_DRAFTED), tells
 * the thread's conversation and starts the case's first brief, then starts every agent
 * accepted in the thread meanwhile. An acceptance that arrives while it runs is one more
 * `draftRequested`: it looks for held agents again before it ends, so none is left behind.
 * A thread with a case already (an earlier run drafted it) drafts nothing and only starts the
 * held agents; a run that failed is followed by a new one of the same id when a suggestion is
 * accepted again. Every way out but success marks the row `failed` with its reason.
 */
import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { draftRequestedSignal } from '../messages.js';
import { holdThroughOutage, newHold, type OutageHold } from '../outage-hold.js';
import { caseDraftStep, TASK_TIME_LIMIT } from '../policies.js';
import { caseIdKey } from '../search-attributes.js';
import type { DraftCaseInput, DraftCaseResult } from '../types.js';

const acts = proxyActivities<Activities>(caseDraftStep);

/** Calls of startHeldAgents one run makes at most (each starts up to 10): a bound, not a limit anyone meets. */
const MAX_HELD_CALLS = 10;

interface Run {
  input: DraftCaseInput;
  workflowId: string;
  hold: OutageHold;
  /** Requests received so far (the start's and every later acceptance's). */
  requests: () => number;
}

const step = <T>(run: Run, name: string, fn: () => Promise<T>) => holdThroughOutage(run.hold, name, fn);
const withSummary = (summary: string) => ({ ...caseDraftStep, summary });

export async function draftCaseWorkflow(input: DraftCaseInput): Promise<DraftCaseResult> {
  let requests = 0;
  setHandler(draftRequestedSignal, () => void requests++);
  const run: Run = { input, workflowId: workflowInfo().workflowId, hold: newHold(input.outageHoldMs, 'per-outage'), requests: () => requests };
  return runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    work: () => draft(run),
    reasonOf: (err) => failureReason(err, 'drafting failed'),
    what: 'case draft',
    fields: { threadId: input.threadId },
    cleanup: (reason) =>
      step(run, 'finishAgentRun', () =>
        acts.finishAgentRun.executeWithOptions(withSummary(`Mark the draft failed: ${reason}`), [
          { workflowId: run.workflowId, outcome: 'failed', content: `The case draft failed: ${reason}`, error: reason },
        ]),
      ),
  });
}

async function draft(run: Run): Promise<DraftCaseResult> {
  const { threadId, userId } = run.input;
  await step(run, 'claimAgentRun', () => acts.claimAgentRun.executeWithOptions(withSummary('Take the draft\'s run'), [{ workflowId: run.workflowId }]));
  const { caseId, drafted } = await step(run, 'draftCaseFromThread', () =>
    acts.draftCaseFromThread.executeWithOptions(withSummary(`Draft a case from thread ${threadId}`), [{ threadId, userId, workflowId: run.workflowId }]),
  );
  upsertSearchAttributes([{ key: caseIdKey, value: caseId }]);
  if (drafted) {
    await step(run, 'announceDraftedCase', () =>
      acts.announceDraftedCase.executeWithOptions(withSummary(`Tell the conversation, and start the brief of case ${caseId}`), [{ threadId, userId, caseId }]),
    );
  }
  const agentsStarted: string[] = [];
  for (let calls = 0; ;) {
    const seen = run.requests();
    for (let more = true; more && calls < MAX_HELD_CALLS; calls++) {
      const held = await step(run, 'startHeldAgents', () =>
        acts.startHeldAgents.executeWithOptions(withSummary(`Start the agents accepted in thread ${threadId}`), [
          { threadId, draftWorkflowId: run.workflowId, agents: run.input.agents },
        ]),
      );
      agentsStarted.push(...held.started);
      more = held.more;
    }
    await step(run, 'finishAgentRun', () =>
      acts.finishAgentRun.executeWithOptions(withSummary(`Done: case ${caseId}`), [
        { workflowId: run.workflowId, outcome: 'completed', content: `Drafted case ${caseId}` },
      ]),
    );
    // An acceptance that came meanwhile (this run was told) may hold one more agent.
    if (run.requests() === seen) break;
  }
  return { caseId, drafted, agentsStarted };
}
