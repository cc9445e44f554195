/**
 * The agents seam (Decision 29) with a worker and fixture agents (test/fixtures): every path
 * that starts an agent (the agents route, the accept route, a "yes" in chat) builds its id with
 * the catalog's template and commits its row and placeholder; the placeholder stays out of
 * chat's reply history and invariants; a start committed and never handed over is swept; two
 * agents accepted in a thread with no case both start on the case its draft makes; a "yes" to
 * a structure suggestion drafts a case with a brief; a failed draft can be accepted again.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitAgentRun } from '../../activities/agents/runs.js';
import { agentRuns, agentSuggestions, events, messages, signals, threads } from '../../activities/db/schema/index.js';
import type { Activities } from '../../activities/index.js';
import type { ChatTurn } from '../../activities/llm/types.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { CASE_DRAFT, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import type { redeliverMessages } from '../../workflows/index.js';
import { caseIdKey } from '../../workflows/search-attributes.js';
import type { DraftCaseResult } from '../../workflows/types.js';
import { call, createThread, insertCase, startApi, type ApiHarness } from '../api/harness.js';
import { fixtureAgent, FIXTURE_AGENTS } from '../fixtures/agents.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { briefVersions, seedSignal } from '../helpers/briefs.js';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { eventually, sendMessage, threadMessages, waitForAnswer } from '../helpers/chat.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { uniqueId } from '../helpers/temporal.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows-with-agents.ts', import.meta.url));
/** A second fixture agent, so two different agents can wait on one draft. */
const AGENTS: AgentDescriptor[] = [...FIXTURE_AGENTS, fixtureAgent('critique')];
const BRIEF = { debounceMs: 200, maxWaitMs: 1_000, idleCloseMs: 2_000, staleEvidenceDays: 180 };

let h: ApiHarness;
let workers: RunningWorkers;
/** The history each reply's model call saw. */
const replyHistories: ChatTurn[][] = [];
/** Per thread: draft activities delayed (ms), or failed once. */
const slowDrafts = new Map<string, number>();
const failingDrafts = new Set<string>();
/** Per thread: the draft's calls that find the database unreachable (Decision 28). */
const unreachableDrafts = new Map<string, number>();
const draftCalls = new Map<string, number>();

const local = createLocalLlm();
const spyingLlm: Llm = {
  ...local,
  async reply(input) {
    replyHistories.push(input.history);
    return local.reply(input);
  },
};

async function draftFaults(name: string, args: unknown[]): Promise<void> {
  if (name !== 'draftCaseFromThread') return;
  const threadId = (args[0] as { threadId: string }).threadId;
  draftCalls.set(threadId, (draftCalls.get(threadId) ?? 0) + 1);
  const unreachable = unreachableDrafts.get(threadId) ?? 0;
  if (unreachable > 0) {
    unreachableDrafts.set(threadId, unreachable - 1);
    throw ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
  }
  const delay = slowDrafts.get(threadId);
  if (delay) await new Promise((r) => setTimeout(r, delay));
  if (failingDrafts.delete(threadId)) throw ApplicationFailure.nonRetryable('the drafting model refused', 'AgentNotStartable');
}

beforeAll(async () => {
  h = await startApi({ agents: AGENTS, brief: BRIEF });
  workers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: h.queues, workflowsPath, llm: spyingLlm, brief: BRIEF, redeliveryAfterMs: 1,
    wrapActivities: (acts: Activities) => withActivityFaults(acts, { calls: new Map(), commitThenThrowOnce: new Set() }, draftFaults),
  });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

const db = () => h.database.db;
const runOf = async (workflowId: string) => (await db().select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId)))[0];
const messageOf = async (id: string) => (await db().select().from(messages).where(eq(messages.id, id)))[0];
const threadOf = async (id: string) => (await db().select().from(threads).where(eq(threads.id, id)))[0]!;
const suggestionOf = async (id: string) => (await db().select().from(agentSuggestions).where(eq(agentSuggestions.id, id)))[0]!;
const settledRun = (workflowId: string) => eventually(() => runOf(workflowId), (r) => r?.status === 'completed' || r?.status === 'failed');

async function suggest(threadId: string, agentType: string, kind: 'agent' | 'structure' = 'agent'): Promise<string> {
  const [row] = await db()
    .insert(agentSuggestions)
    .values({ threadId, kind, agentType, confidence: 0.9, reason: 'a fixture', turn: Math.floor(Math.random() * 1e6), topic: `the ${agentType} topic` })
    .returning();
  return row!.id;
}

const accept = (threadId: string, suggestionId: string) =>
  call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${threadId}/suggestions/${suggestionId}/accept` });

/** A thread of alice with no case, whose signals a draft can read. */
async function caselessThread(title: string | null = null): Promise<string> {
  const threadId = (await createThread(h.app, h.alice, title ? { title } : {})).id;
  const said: [string, string][] = [['goal', 'Open a second bakery in Leeds'], ['assumption', 'Rents near the station are 2000 pounds'], ['risk', 'The landlord may sell'], ['question', 'Lease or buy the ovens?'], ['constraint', 'Budget under 150k']];
  for (const [type, text] of said) await seedSignal(db(), { caseId: null, threadId, type, text: `${text} (${randomUUID().slice(0, 4)})` });
  return threadId;
}

const chat = (threadId: string, agents?: AgentDescriptor[]) => ({
  db: db(), client: h.env.client, queues: h.queues, threadId, userId: h.alice.id, extra: agents ? { agents } : {},
});

describe('one start, one id builder', () => {
  it('the agents route, the accept route and a "yes" in chat each commit a run and a placeholder under the catalog\'s id, and the agent ends both', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const threadId = (await createThread(h.app, h.alice, { caseId })).id;
    const routed = await call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/agents/research`, payload: { topic: 'rents', threadId } });
    expect(routed.statusCode, routed.body).toBe(202);

    const acceptedId = await suggest(threadId, 'research');
    const accepted = await accept(threadId, acceptedId);
    expect(accepted.statusCode, accepted.body).toBe(202);

    const saidYes = await suggest(threadId, 'research');
    const yes = await sendMessage(chat(threadId, AGENTS), 'yes');
    await waitForAnswer(db(), threadId, yes.id);

    const ids = [routed.json().workflowId, accepted.json().workflowId, `research-${caseId}-${saidYes}`];
    expect(ids).toEqual([`research-${caseId}-${routed.json().correlationId}`, `research-${caseId}-${acceptedId}`, `research-${caseId}-${saidYes}`]);
    for (const workflowId of ids) {
      const run = await settledRun(workflowId);
      expect(run, workflowId).toMatchObject({ status: 'completed', caseId, threadId, type: 'research' });
      expect(await h.env.client.workflow.getHandle(workflowId).result()).toBe(`researched for ${threadId}`);
      expect(await messageOf(run!.placeholderMessageId!), workflowId).toMatchObject({
        role: 'assistant', status: 'complete', metadata: { kind: 'agent-progress', workflowId }, content: expect.stringContaining(`researched for ${threadId}`),
      });
    }
    expect(await suggestionOf(saidYes)).toMatchObject({ status: 'accepted', workflowId: ids[2], agentWorkflowId: ids[2] });
    expect((await runOf(ids[2]))?.input).toMatchObject({ topic: 'the research topic' });
  });
});

describe('the placeholder', () => {
  it('stays out of the reply\'s history and the chat invariants while its agent runs', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const threadId = (await createThread(h.app, h.alice, { caseId, title: 'placeholder thread' })).id;
    const started = await call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/agents/research`, payload: { topic: 'wait', threadId } });
    expect(started.statusCode).toBe(202);
    const { workflowId, placeholderMessageId } = started.json();
    const progressed = await eventually(() => messageOf(placeholderMessageId), (m) => m?.content.startsWith('Looking into') === true);

    const asked = await sendMessage(chat(threadId, AGENTS), 'What do we know about the lease so far?');
    const { reply } = await waitForAnswer(db(), threadId, asked.id);
    expect(reply?.status).toBe('complete');
    const seen = replyHistories.at(-1)!;
    expect(seen.some((turn) => turn.content.includes('What do we know about the lease'))).toBe(true);
    expect(seen.filter((turn) => turn.content === progressed!.content), 'the placeholder reached the model').toEqual([]);
    // Still pending, and the invariant holds: it is not a reply.
    expect((await messageOf(placeholderMessageId))?.status).toBe('pending');
    await expectChatInvariants(db(), [threadId], { sent: [asked.id], requireComplete: true, timeoutMs: 10_000 });
    await h.env.client.workflow.getHandle(workflowId).terminate('test over');
  });
});

describe('a lost start', () => {
  it('committed and never handed over (an agent, a case draft) is started by the redelivery job', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const agent = await db().transaction((tx) => commitAgentRun(tx, { descriptor: AGENTS[0]!, userId: h.alice.id, caseId, correlationId: randomUUID(), topic: 'lost' }));
    const caseless = await caselessThread('a lost draft');
    const draft = await db().transaction((tx) => commitAgentRun(tx, { descriptor: CASE_DRAFT, userId: h.alice.id, threadId: caseless, correlationId: randomUUID() }));
    expect([agent.status, draft.status]).toEqual(['pending', 'pending']);
    await new Promise((r) => setTimeout(r, 50));

    const run = () => h.env.client.workflow.execute<typeof redeliverMessages>('redeliverMessages', {
      taskQueue: h.queues.maintenance, workflowId: uniqueId('agents-redeliver'), args: [{ queues: h.queues }], workflowExecutionTimeout: '60 seconds',
    });
    const report = await run();
    expect(report.agentRuns).toMatchObject({ resent: 2, failedUnits: 0, complete: true });
    expect(await settledRun(agent.workflowId)).toMatchObject({ status: 'completed' });
    expect(await messageOf(agent.placeholderMessageId!)).toMatchObject({ status: 'complete' });
    // The agent's placeholder went to the case's activity thread.
    expect(await threadOf((await messageOf(agent.placeholderMessageId!))!.threadId)).toMatchObject({ kind: 'case-activity', caseId });
    expect(await settledRun(draft.workflowId)).toMatchObject({ status: 'completed' });
    expect((await threadOf(caseless)).caseId).toEqual(expect.any(String));
    // Nothing pending is left to hand over.
    expect((await run()).agentRuns).toMatchObject({ resent: 0 });
  });
});

describe('agents accepted in a thread with no case', () => {
  it('join the running draft, which starts both on the case it drafted; the suggestions record both ids', async () => {
    const threadId = await caselessThread('Leeds bakery');
    const research = await suggest(threadId, 'research');
    const critique = await suggest(threadId, 'critique');
    slowDrafts.set(threadId, 1_500);
    const first = await accept(threadId, research);
    const second = await accept(threadId, critique);
    const draftId = `draft-case-${threadId}`;
    expect([first.statusCode, first.json(), second.statusCode, second.json()]).toEqual([202, { workflowId: draftId }, 202, { workflowId: draftId }]);

    const result: DraftCaseResult = await h.env.client.workflow.getHandle(draftId).result();
    const { caseId } = result;
    const agentIds = [`research-${caseId}-${research}`, `agent-critique-${caseId}-${critique}`];
    expect(result).toEqual({ caseId, drafted: true, agentsStarted: agentIds });
    const runs = [];
    for await (const run of h.env.client.workflow.list({ query: `WorkflowId = "${draftId}"` })) runs.push(run.runId);
    expect(runs, 'the second acceptance joined the first run').toHaveLength(1);

    expect((await threadOf(threadId)).caseId).toBe(caseId);
    for (const [i, suggestionId] of [research, critique].entries()) {
      expect(await suggestionOf(suggestionId)).toMatchObject({ status: 'accepted', workflowId: draftId, agentWorkflowId: agentIds[i] });
      const run = await settledRun(agentIds[i]!);
      expect(run).toMatchObject({ status: 'completed', caseId, threadId });
      expect((await messageOf(run!.placeholderMessageId!))?.threadId).toBe(threadId);
    }
    const drafted = await db().select().from(events).where(and(eq(events.type, 'CASE_DRAFTED'), eq(events.threadId, threadId)));
    expect(drafted).toHaveLength(1);
    const system = (await threadMessages(db(), threadId)).filter((m) => m.role === 'system');
    expect(system.map((m) => m.content)).toContainEqual(expect.stringContaining('"Leeds bakery"'));
  });
});

describe('a structure suggestion', () => {
  it('accepted by "yes" in chat (the real catalog) drafts a case with a brief', async () => {
    const threadId = (await createThread(h.app, h.alice)).id;
    const send = async (content: string) => waitForAnswer(db(), threadId, (await sendMessage(chat(threadId), content)).id);
    await send('Our goal is to launch the product in March.');
    await send('We assume the supplier delivers on time.');
    await send('The budget must stay under 50k. There is a risk the supplier fails.');
    await send('Should we pick between two vendors? We expect prices to rise.');
    const [offered] = await eventually(
      () => db().select().from(agentSuggestions).where(and(eq(agentSuggestions.threadId, threadId), eq(agentSuggestions.kind, 'structure'))),
      (rows) => rows.length === 1,
    );
    await send('yes');
    const thread = await eventually(() => threadOf(threadId), (t) => t.caseId !== null);
    const caseId = thread.caseId!;
    expect(await suggestionOf(offered!.id)).toMatchObject({ status: 'accepted', workflowId: `draft-case-${threadId}` });
    expect(await settledRun(`draft-case-${threadId}`)).toMatchObject({ status: 'completed', caseId });
    const versions = await eventually(() => briefVersions(db(), caseId), (v) => v.length > 0, 30_000);
    expect(versions[0]!.version).toBe(1);
    const conversation = h.env.client.workflow.getHandle(`chat-${threadId}`);
    await eventually(async () => (await conversation.describe()).typedSearchAttributes.get(caseIdKey), (v) => v === caseId);
    const drafted = await db().select().from(events).where(and(eq(events.type, 'CASE_DRAFTED'), eq(events.caseId, caseId)));
    expect(drafted).toHaveLength(1);
  });
});

describe('a thread on a case', () => {
  it('is never offered a case draft, however much shape it has', async () => {
    const caseId = await insertCase(h.database, h.alice.id);
    const threadId = (await createThread(h.app, h.alice, { caseId })).id;
    const send = async (content: string) => waitForAnswer(db(), threadId, (await sendMessage(chat(threadId), content)).id);
    await send('Our goal is to launch the product in March.');
    await send('We assume the supplier delivers on time.');
    await send('The budget must stay under 50k. There is a risk the supplier fails.');
    await send('Should we pick between two vendors? We expect prices to rise.');
    await send('And what about the warehouse?');
    expect((await db().select().from(signals).where(eq(signals.threadId, threadId))).length).toBeGreaterThanOrEqual(5);
    expect(await db().select().from(agentSuggestions).where(eq(agentSuggestions.threadId, threadId))).toEqual([]);
  });
});

describe('a database outage', () => {
  it('is held by the draft, not spent as its attempts: the case is drafted once the database is back', async () => {
    const threadId = await caselessThread();
    const structure = await suggest(threadId, 'structure', 'structure');
    // More unreachable calls than the step's 3 attempts: only the hold gets through them.
    unreachableDrafts.set(threadId, 4);
    expect((await accept(threadId, structure)).statusCode).toBe(202);
    const result: DraftCaseResult = await h.env.client.workflow.getHandle(`draft-case-${threadId}`).result();
    expect(result.drafted).toBe(true);
    expect(draftCalls.get(threadId)).toBe(5);
    expect((await threadOf(threadId)).caseId).toBe(result.caseId);
  });
});

describe('a failed draft', () => {
  it('fails its run (AGENT_FAILED) and is started again, as a new run of its id, when the suggestion is accepted again', async () => {
    const threadId = await caselessThread();
    const structure = await suggest(threadId, 'structure', 'structure');
    failingDrafts.add(threadId);
    const draftId = `draft-case-${threadId}`;
    expect((await accept(threadId, structure)).statusCode).toBe(202);
    await expect(h.env.client.workflow.getHandle(draftId).result()).rejects.toThrow();
    expect(await settledRun(draftId)).toMatchObject({ status: 'failed', error: expect.stringContaining('the drafting model refused') });
    expect(await db().select().from(events).where(and(eq(events.type, 'AGENT_FAILED'), eq(events.threadId, threadId)))).toHaveLength(1);

    expect((await accept(threadId, structure)).statusCode).toBe(202);
    const again: DraftCaseResult = await eventually(
      async () => h.env.client.workflow.getHandle(draftId).result().catch(() => null),
      (r) => r !== null,
    );
    expect(again).toMatchObject({ drafted: true });
    expect((await threadOf(threadId)).caseId).toBe(again!.caseId);
    expect(await runOf(draftId)).toMatchObject({ status: 'completed', error: null });
  });
});
