/**
 * Recorded histories (npm run record-histories) replay against the production bundle, the
 * very workflows/index.ts the worker runs: today's recordings, and the ones recorded before
 * a change of commands (under recorded-before-*), which prove that change sits behind
 * `patched()`. A conversation changed without a patch must fail to replay.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { installTestRuntime } from '../helpers/temporal.js';
import { testBundle } from '../helpers/stack.js';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));
const changedPath = fileURLToPath(new URL('./fixtures/changed-conversation.ts', import.meta.url));

function historyFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? historyFiles(join(dir, entry.name)) : entry.name.endsWith('.json') ? [join(dir, entry.name)] : [],
  );
}

const histories = historyFiles(historiesDir).map((file) => ({
  name: relative(historiesDir, file).replace(/\.json$/, ''),
  history: JSON.parse(readFileSync(file, 'utf8')) as unknown,
}));

const eventTypes = (history: unknown): string[] =>
  ((history as { events?: { eventType?: string }[] }).events ?? []).map((e) => e.eventType ?? '');

/** The history as text, with its base64 payloads (activity types of markers, signal args) decoded. */
function decodedPayloads(history: unknown): string {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'data' && typeof value === 'string') parts.push(Buffer.from(value, 'base64').toString('utf8'));
        else walk(value);
      }
    } else if (typeof node === 'string') parts.push(node);
  };
  walk(history);
  return parts.join('\n');
}

beforeAll(() => installTestRuntime());

describe('replay of recorded histories against the production bundle', () => {
  it('has every workflow recorded, and conversations and briefs that continued as new and were cancelled, and a conversation that drafted a case', () => {
    const names = histories.map((h) => h.name);
    const expected = [
      'conversation-run-1', 'generate-chat-title', 'generate-signal-embeddings', 'redeliver-messages',
      'process-document', 'process-document-failed', 'process-document-skipped', 'process-document-two-outages',
      'process-document-requested-again', 'fetch-url-and-ingest', 'fetch-url-and-ingest-blocked', 'fetch-url-and-ingest-restarted',
      'evolve-brief-run-1', 'evolve-brief-run-2', 'evolve-brief-cancelled', 'ingest-evidence', 'ingest-evidence-failed',
      // The old behaviour: the second outage failed the document at once.
      'recorded-before-document-outage-window-per-outage/process-document-two-outages',
      // The redelivery job before it swept documents and evidence: one messages activity.
      'recorded-before-redelivery-every-pending-kind/redeliver-messages',
      // The case draft (started by a "yes" in the conversation), and on-demand extractions.
      'draft-case-workflow', 'extract-signals-workflow-run-1', 'extract-signals-workflow-messages',
      // Signal maintenance: the fan-out's first run (it continued as new), a scope, the temperatures.
      'schedule-signal-consolidation-run-1', 'consolidate-thread-signals', 'update-signal-temperatures',
      // Conversations before the catalog held the case draft (no step 6), the job before it swept agent runs.
      'recorded-before-chat-suggest-structure/conversation-run-1', 'recorded-before-redelivery-agent-runs/redeliver-messages',
      // Before documents gave evidence: the run ended with its index step.
      'recorded-before-document-evidence-from-passages/process-document',
      // Before evidence reached step 3: told of evidence while idle, the next turn skipped the step.
      'recorded-before-chat-evidence-reaches-interventions/conversation-run-3',
      // The housekeeping jobs (the seed's cleanup_old_events and refresh_working_views).
      'cleanup-old-events', 'refresh-working-views',
      // Before the static catalog held the research agent: step 2 never ran.
      'recorded-before-chat-suggest-research/conversation-run-1',
      // The research agent (issue 19): a first run that hands over (continue-as-new), and the one after it.
      'research-agent-run-1', 'research-agent-run-2',
      // Before its evidence children were started beside the synthesis (RESEARCH_PATCHES).
      'recorded-before-research-hand-over-while-synthesizing/research-agent-run-1',
      'recorded-before-research-hand-over-while-synthesizing/research-agent-run-2',
      // The Phase 2B inquiry workflows, each with its processDocument child.
      'inquiry-research', 'inquiry-debate', 'inquiry-critique',
      // The critique and brief agents (issue 20): research's loop handing over, then their own writing phase.
      'critique-agent-run-1', 'critique-agent-run-2', 'brief-agent-run-1', 'brief-agent-run-2',
      // The seed's names for Temporal clients (Decision 35): each thin alias, and the removed one failing at once.
      'generate-research-artifact-v2', 'generate-research-artifact', 'generate-critique-artifact', 'generate-brief-artifact',
      'generate-research-workflow', 'generate-debate-workflow', 'generate-critique-workflow', 'extract-document-signals-workflow',
    ];
    for (const name of expected) expect(names).toContain(name);
    const conversations = histories.filter((h) => h.name.includes('conversation-run-'));
    const all = conversations.flatMap((h) => eventTypes(h.history));
    expect(all).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    const recorded = conversations.map((h) => decodedPayloads(h.history)).join('\n');
    expect(recorded).toContain('cancelReply');
    expect(recorded).toContain('failReply');
    // Step 6 suggested a case, and step 1 started its draft on a "yes".
    expect(recorded).toContain('chat-suggest-structure');
    // Step 2 asked whether the research agent would help (its patch, then its local activity).
    const current2 = histories.filter((h) => h.name.startsWith('conversation-run-')).map((h) => decodedPayloads(h.history)).join('\n');
    expect(current2).toContain('chat-suggest-research');
    expect(current2).toContain('detectAgentInflection');
    // Every phase of the research loop ran as an activity of its own, across a continue-as-new with the handoff.
    const researchRuns = histories.filter((h) => h.name.startsWith('research-agent-run-'));
    const researchRun = researchRuns.map((h) => decodedPayloads(h.history)).join('\n');
    for (const phase of ['researchPlan', 'researchSearch', 'researchExtract', 'researchEvaluate', 'researchHandoff', 'researchEvidence', 'researchSynthesize', 'finishAgentRun']) {
      expect(researchRun).toContain(phase);
    }
    expect(researchRuns.flatMap((h) => eventTypes(h.history))).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    expect(researchRun).toContain('research-hand-over-while-synthesizing');
    // The critique and brief agents: research's loop, then their own writing phase.
    for (const [agent, writes] of [['critique-agent', 'critiqueWrite'], ['brief-agent', 'briefWrite']] as const) {
      const runs = histories.filter((h) => h.name.startsWith(`${agent}-run-`));
      const decoded = runs.map((h) => decodedPayloads(h.history)).join('\n');
      for (const phase of ['agentTopic', 'researchPlan', 'researchSearch', 'researchHandoff', writes, 'finishAgentRun']) expect(decoded, agent).toContain(phase);
      expect(runs.flatMap((h) => eventTypes(h.history))).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    }
    expect(recorded).toContain('startAcceptedSuggestion');
    const extraction = histories.find((h) => h.name === 'extract-signals-workflow-run-1')!;
    expect(eventTypes(extraction.history)).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    // Evidence told to a running conversation, before and after step 3 heard of it.
    for (const prefix of ['', 'recorded-before-chat-evidence-reaches-interventions/']) {
      const runs = histories.filter((h) => h.name.startsWith(`${prefix}conversation-run-`)).map((h) => decodedPayloads(h.history)).join('\n');
      expect(runs).toContain('evidenceAdded');
    }
    const current = histories.filter((h) => h.name.startsWith('conversation-run-')).map((h) => decodedPayloads(h.history)).join('\n');
    expect(current).toContain('assumption-contradicted');
    // A document that gave evidence started its items' runs as children.
    const document = histories.find((h) => h.name === 'process-document')!;
    expect(decodedPayloads(document.history)).toContain('ingestEvidence');
    const briefs = histories.filter((h) => h.name.startsWith('evolve-brief-'));
    const briefEvents = briefs.flatMap((h) => eventTypes(h.history));
    expect(briefEvents).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    expect(briefEvents).toContain('EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED');
    expect(briefs.map((h) => decodedPayloads(h.history)).join('\n')).toContain('cancelEvolution');
  });

  for (const { name, history } of histories) {
    it(`replays ${name} without a determinism error`, async () => {
      const bundle = await testBundle();
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, `replay-${name}`);
    });
  }

  it('raises a determinism error when the conversation gained a step without a patch', async () => {
    const conversation = histories.find((h) => h.name === 'conversation-run-1')!;
    const bundle = await testBundle(changedPath);
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, conversation.history, 'replay-changed')).rejects.toBeInstanceOf(
      DeterminismViolationError,
    );
  });
});
