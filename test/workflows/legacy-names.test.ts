/**
 * The seed's agent names for Temporal clients (Decision 35, issue 20): a client that starts
 * `generate_research_artifact_v2` (or v1) by workflow type with the seed's positional arguments
 * gets the v2 research run (critique and brief: theirs), started through the catalog's one start (its `agent_runs` row, its
 * placeholder: the caller's own message for v2, the case's activity thread otherwise); a case
 * that is not the user's fails the alias at once and starts nothing; the removed
 * `extract_document_signals_workflow` fails at once, not retried, with its pointer.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRuns, messages, threads } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { call, startApi, type ApiHarness } from '../api/harness.js';
import { eventually } from '../helpers/chat.js';
import { seedDocument, TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { workflowFailureOf } from '../helpers/failures.js';

const BRIEF = { debounceMs: 200, maxWaitMs: 1_000, idleCloseMs: 1_000, staleEvidenceDays: 180 };
const RESEARCH = { budgetTokens: 200_000, maxIterations: 1, stallRounds: 2, contextTokens: 100_000, resultsPerQuery: 5, searchTimeoutMs: 2_000 };

let h: ApiHarness;
let workers: RunningWorkers;

beforeAll(async () => {
  h = await startApi({ brief: BRIEF });
  workers = await startTestWorkers({ env: h.env, db: h.database.db, queues: h.queues, embedder: createLocalEmbedder(TEST_DIMENSIONS), brief: BRIEF, research: RESEARCH });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

async function caseWithCorpus(): Promise<string> {
  const caseId = (await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'A second bakery in Leeds' } })).json().id as string;
  await seedDocument(h.database.db, { caseId, userId: h.alice.id, title: 'Leeds market notes' }, ['Bakery rents near Leeds station averaged 3500 pounds a month in March 2025.']);
  return caseId;
}

/** Starts a workflow by its old type name, as a seed client would, and waits for its answer. */
function runByOldName(workflowType: string, args: unknown[]) {
  return h.env.client.workflow.execute(workflowType, { taskQueue: h.queues.research, workflowId: `legacy-${randomUUID()}`, args });
}

const ended = async (workflowId: string) =>
  (await eventually(
    async () => (await h.database.db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId)))[0],
    (row) => row?.status === 'completed' || row?.status === 'failed',
    60_000,
  ))!;

describe('the seed\'s agent names, started by workflow type', () => {
  it('generate_research_artifact_v2 with the seed\'s five arguments runs researchAgent, adopting the caller\'s placeholder', async () => {
    const caseId = await caseWithCorpus();
    const [thread] = await h.database.db.insert(threads).values({ userId: h.alice.id, caseId, title: 'Rents' }).returning();
    const [placeholder] = await h.database.db.insert(messages).values({ threadId: thread!.id, role: 'assistant', content: 'Researching…', status: 'pending' }).returning();
    const correlationId = randomUUID();
    const started = await runByOldName('generate_research_artifact_v2', [caseId, 'bakery rents near Leeds station', h.alice.id, correlationId, placeholder!.id]);
    expect(started).toEqual({ workflowId: `research-${caseId}-${correlationId}`, agentType: 'research', placeholderMessageId: placeholder!.id });
    const row = await ended(started.workflowId);
    expect(row).toMatchObject({ status: 'completed', type: 'research', threadId: thread!.id, placeholderMessageId: placeholder!.id, userId: h.alice.id });
    expect(row.input).toMatchObject({ topic: 'bakery rents near Leeds station', caseId });
    const [after] = await h.database.db.select().from(messages).where(eq(messages.id, placeholder!.id));
    expect(after).toMatchObject({ status: 'complete', metadata: { kind: 'agent-progress', workflowId: started.workflowId } });
    expect(after!.content).toContain('/v1/artifacts/');
  });

  it('generate_research_artifact (v1) with (case_id, topic_or_focus, user_id, correlation_id) runs researchAgent in the case\'s activity thread', async () => {
    const caseId = await caseWithCorpus();
    const correlationId = randomUUID();
    const started = await runByOldName('generate_research_artifact', [caseId, 'bakery rents', h.alice.id, correlationId]);
    expect(started.workflowId).toBe(`research-${caseId}-${correlationId}`);
    const row = await ended(started.workflowId);
    expect(row.status).toBe('completed');
    const [thread] = await h.database.db.select().from(threads).where(eq(threads.id, row.threadId!));
    expect(thread).toMatchObject({ caseId, kind: 'case-activity' });
    // The same start again (a seed client retrying) joins that run: one row, one placeholder.
    const again = await runByOldName('generate_research_artifact', [caseId, 'bakery rents', h.alice.id, correlationId]);
    expect(again).toEqual(started);
    expect(await h.database.db.select().from(agentRuns).where(eq(agentRuns.correlationId, correlationId))).toHaveLength(1);
  });

  it('generate_critique_artifact and generate_brief_artifact with (case_id, topic_or_focus, user_id, correlation_id) run critiqueAgent and briefAgent', async () => {
    const caseId = await caseWithCorpus();
    for (const [name, type] of [['generate_critique_artifact', 'critique'], ['generate_brief_artifact', 'brief']] as const) {
      const correlationId = randomUUID();
      const started = await runByOldName(name, [caseId, 'bakery rents', h.alice.id, correlationId]);
      expect(started).toMatchObject({ workflowId: `agent-${type}-${caseId}-${correlationId}`, agentType: type });
      const row = await ended(started.workflowId);
      expect(row, name).toMatchObject({ status: 'completed', type, workflowType: `${type}Agent` });
      expect(row.input).toMatchObject({ topic: 'bakery rents', caseId });
    }
  });

  it('fails at once, starting nothing, when the case is not the user\'s', async () => {
    const caseId = await caseWithCorpus();
    const correlationId = randomUUID();
    const failure = await workflowFailureOf(runByOldName('generate_research_artifact', [caseId, 'rents', h.bob.id, correlationId]));
    expect(failure.type).toBe('NotFound');
    expect(failure.message).toContain(`case ${caseId} not found`);
    const failed = await workflowFailureOf(runByOldName('generate_research_artifact_v2', ['not-a-uuid', 'rents', h.alice.id, correlationId, null]));
    expect(failed.type).toBe('ValidationError');
    expect(await h.database.db.select().from(agentRuns).where(eq(agentRuns.correlationId, correlationId))).toHaveLength(0);
  });

  it('the seed\'s inquiry names take (inquiry_id, user_id) and each starts its kind of the inquiry; another user\'s inquiry starts nothing', async () => {
    const caseId = await caseWithCorpus();
    const inquiry = (await call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/inquiries`, payload: { question: 'What do bakery rents near Leeds station cost?' } })).json();
    const refused = await workflowFailureOf(runByOldName('generate_research_workflow', [inquiry.id, h.bob.id]));
    expect(refused.type).toBe('NotFound');
    const runs = [];
    for await (const wf of h.env.client.workflow.list({ query: `WorkflowId = "inquiry-research-${inquiry.id}"` })) runs.push(wf);
    expect(runs).toHaveLength(0);
    for (const kind of ['research', 'debate', 'critique'] as const) {
      const started = await runByOldName(`generate_${kind}_workflow`, [inquiry.id, h.alice.id]);
      expect(started).toEqual({ workflowId: `inquiry-${kind}-${inquiry.id}` });
      expect(await h.env.client.workflow.getHandle(started.workflowId).result()).toMatchObject({ inquiryId: inquiry.id, kind, version: 1 });
    }
  });

  it('extract_document_signals_workflow fails at once, not retried, with the pointer to processDocument and signals/extract', async () => {
    const workflowId = `legacy-${randomUUID()}`;
    const run = h.env.client.workflow.execute('extract_document_signals_workflow', { taskQueue: h.queues.research, workflowId, args: [randomUUID(), randomUUID()] });
    const failure = await workflowFailureOf(run);
    expect(failure.type).toBe('AgentRemoved');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('processDocument');
    expect(failure.message).toContain('POST /v1/cases/:caseId/signals/extract');
    const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
    expect(history.events!.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
  });
});
