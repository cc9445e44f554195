/** Each step of the chat pipeline: thresholds, dispatch, degradation, failure, idempotency. */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import type { Activities } from '../../activities/index.js';
import { agentRuns, agentSuggestions, events, messages, signals } from '../../activities/db/schema/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { byRole, eventually, seedThread, seedUser, sendMessage, threadMessages, waitForAnswer } from '../helpers/chat.js';
import { workflowIds } from '../../workflows/types.js';
import { cancelReplySignal } from '../../workflows/messages.js';
import type { Llm } from '../../activities/llm/llm.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { FIXTURE_AGENTS } from '../fixtures/agents.js';
import { withActivityFaults } from '../helpers/activity-faults.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows-with-agents.ts', import.meta.url));
let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
const queues = testQueues('steps');

/** Fault injection, per activity name. */
const faults = {
  fail: new Set<string>(),
  /** Let the activity commit, then throw once (a worker dying before it reports). */
  commitThenThrowOnce: new Set<string>(),
  delayMs: new Map<string, number>(),
  /** The database is unreachable for these activities until the given time (Decision 28). */
  unreachableUntil: new Map<string, number>(),
  /** The database is unreachable for the first N calls of these activities (an outage counted in tries, not in wall-clock time). */
  unreachableCalls: new Map<string, number>(),
  /** How long the assistant takes to reply (aborted by cancellation, like a real HTTP call). */
  replyDelayMs: 0,
  calls: new Map<string, number>(),
};

async function beforeCall(name: string): Promise<void> {
  const delay = faults.delayMs.get(name);
  if (delay) await new Promise((r) => setTimeout(r, delay));
  if (faults.fail.has(name)) throw ApplicationFailure.nonRetryable(`injected failure in ${name}`, 'ValidationError');
  const unreachable = faults.unreachableCalls.get(name) ?? 0;
  if (unreachable > 0) faults.unreachableCalls.set(name, unreachable - 1);
  if (unreachable > 0 || Date.now() < (faults.unreachableUntil.get(name) ?? 0)) throw ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
}

const withFaults = (acts: Activities) => withActivityFaults(acts, faults, beforeCall);

const local = createLocalLlm();
const slowLlm: Llm = {
  ...local,
  async reply(input) {
    if (faults.replyDelayMs > 0) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, faults.replyDelayMs);
        input.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    }
    return local.reply(input);
  },
};

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  // Redelivery (run by one test) takes any pending message at once.
  workers = await startTestWorkers({ env, db: database.db, queues, workflowsPath, wrapActivities: withFaults, llm: slowLlm, redeliveryAfterMs: 1 });
});

afterAll(async () => {
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

beforeEach(() => {
  faults.fail.clear();
  faults.commitThenThrowOnce.clear();
  faults.delayMs.clear();
  faults.unreachableUntil.clear();
  faults.unreachableCalls.clear();
  faults.calls.clear();
  faults.replyDelayMs = 0;
});

async function newThread() {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id, 'titled');
  const options = {
    db: database.db, client: env.client, queues, threadId: thread.id, userId: user.id,
    extra: { agents: FIXTURE_AGENTS, outageHoldMs: 6_000 },
  };
  const post = (content: string) => sendMessage(options, content);
  const send = async (content: string) => waitForAnswer(database.db, thread.id, (await post(content)).id);
  return { user, thread, send, post };
}

const eventsOf = (threadId: string) => database.db.select().from(events).where(eq(events.threadId, threadId));
const signalsOf = (threadId: string) => database.db.select().from(signals).where(eq(signals.threadId, threadId));

describe('step 5: batched signal extraction', () => {
  it('waits for 2 turns or 30 characters', async () => {
    const { thread, send } = await newThread();
    await send('We must decide soon.'); // 20 chars, one turn: below both thresholds
    expect(faults.calls.get('extractThreadSignals') ?? 0).toBe(0);
    await send('I think we can.'); // second turn: extraction runs over both
    await eventually(() => signalsOf(thread.id), (rows) => rows.length === 2);
    expect(faults.calls.get('extractThreadSignals')).toBe(1);
    await send('Our goal is to expand into the north of England.'); // ≥ 30 chars alone
    await eventually(async () => faults.calls.get('extractThreadSignals'), (n) => n === 2);
  });
});

describe('step 2 and step 1: inflection every 3 turns, then dispatch on "yes"', () => {
  it('suggests the research agent at turn 3 and starts it when the user confirms', async () => {
    const { thread, send } = await newThread();
    await send('We need to research the market for oat milk.');
    await send('Find sources on pricing and investigate the competitors.');
    expect(faults.calls.get('detectAgentInflection') ?? 0).toBe(0);
    await send('What evidence is there that demand is growing?');
    expect(faults.calls.get('detectAgentInflection')).toBe(1);
    const [suggestion] = await database.db.select().from(agentSuggestions).where(eq(agentSuggestions.threadId, thread.id));
    expect(suggestion).toMatchObject({ agentType: 'research', status: 'pending', turn: 3, kind: 'agent' });
    expect(suggestion!.confidence).toBeGreaterThan(0.75);
    expect((await eventsOf(thread.id)).map((e) => e.type)).toContain('CONVERSATION_ANALYZED_FOR_AGENT');
    const { all } = await send('yes');
    expect(byRole(all, 'system').some((m) => m.content.includes('research agent could help'))).toBe(true);
    // The thread has no case: the "yes" starts its case draft, which starts the agent on the case.
    const accepted = await acceptedRun(suggestion!.id);
    expect(accepted).toMatchObject({ status: 'accepted', workflowId: `draft-case-${thread.id}`, topic: 'What evidence is there that demand is growing?' });
    const result = await agentResult(accepted.agentWorkflowId!);
    expect(result).toBe(`researched for ${thread.id}`);
    expect(accepted.agentWorkflowId).toMatch(new RegExp(`^research-[0-9a-f-]{36}-${suggestion!.id}$`));
  });
});

/** The suggestion once its agent's own run was started (by the case draft, in a thread with no case). */
const acceptedRun = (suggestionId: string) =>
  eventually(async () => (await database.db.select().from(agentSuggestions).where(eq(agentSuggestions.id, suggestionId)))[0]!, (s) => s.agentWorkflowId !== null);

/** An accepted agent's result: its id is committed before its start lands (Decision 29), so wait for the run to exist. */
async function agentResult(workflowId: string): Promise<unknown> {
  const handle = env.client.workflow.getHandle(workflowId);
  await eventually(() => handle.describe().then(() => true, () => false), (found) => found);
  return handle.result();
}

/** The run's history as text, its payloads (local activities' results among them) decoded. */
async function historyText(run: WorkflowHandle): Promise<string> {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        // Payloads arrive as bytes, those of markers (local activities' results) as base64.
        if (key === 'data' && value instanceof Uint8Array) parts.push(Buffer.from(value).toString('utf8'));
        else if (key === 'data' && typeof value === 'string') parts.push(Buffer.from(value, 'base64').toString('utf8'));
        else walk(value);
      }
    }
  };
  walk((await run.fetchHistory()).events);
  return parts.join('\n');
}

describe('step 1 in a retried workflow task whose batch grew', () => {
  it('still dispatches the agent its first attempt accepted', async () => {
    const { thread, send } = await newThread();
    const [suggestion] = await database.db
      .insert(agentSuggestions)
      .values({ threadId: thread.id, kind: 'agent', agentType: 'research', confidence: 0.9, reason: 'seeded', turn: 0 })
      .returning();
    await send('yes');
    const { agentWorkflowId } = await acceptedRun(suggestion!.id);
    await agentResult(agentWorkflowId!);
    await send('Also look at the prices.');
    // A retried first task (a worker lost between step 1's commit and the task's completion,
    // while the second message arrived) runs step 1 again over both messages: a reset of the
    // run to its first task does exactly that, the later signal reapplied before it.
    const conversation = env.client.workflow.getHandle(workflowIds.conversation(thread.id));
    const { runId } = await conversation.describe();
    const { events: history } = await conversation.fetchHistory();
    const firstTask = (history ?? []).find((e) => e.workflowTaskCompletedEventAttributes)!;
    const { runId: retried } = await env.client.workflowService.resetWorkflowExecution({
      namespace: env.namespace ?? 'default',
      workflowExecution: { workflowId: workflowIds.conversation(thread.id), runId },
      reason: 'test: the first task retried with a grown batch',
      workflowTaskFinishEventId: firstTask.eventId,
      requestId: randomUUID(),
    });
    const rerun = env.client.workflow.getHandle(workflowIds.conversation(thread.id), retried ?? undefined);
    // Step 1's start ran again: the thread has its case now, so it started the agent itself, the
    // very run the draft had started (one id builder): a no-op, and still one agent run.
    await eventually(() => historyText(rerun), (text) => text.includes(`{"workflowId":"${agentWorkflowId}"}`), 15_000);
    const [accepted] = await database.db.select().from(agentSuggestions).where(eq(agentSuggestions.id, suggestion!.id));
    expect(accepted).toMatchObject({ status: 'accepted', workflowId: `draft-case-${thread.id}`, agentWorkflowId });
    expect(await database.db.select().from(agentRuns).where(eq(agentRuns.threadId, thread.id))).toHaveLength(2);
  });
});

describe('step 6: structure readiness', () => {
  it('suggests a case structure once the thread has 4 turns and 5 signals of 3 types', async () => {
    const { thread, send } = await newThread();
    await send('Our goal is to launch the product in March.');
    await send('We assume the supplier delivers on time.');
    await send('The budget must stay under 50k. There is a risk the supplier fails.');
    expect((await database.db.select().from(agentSuggestions).where(eq(agentSuggestions.threadId, thread.id))).filter((s) => s.kind === 'structure')).toHaveLength(0);
    await send('Should we pick between two vendors? We expect prices to rise.');
    const found = await eventually(
      () => database.db.select().from(agentSuggestions).where(eq(agentSuggestions.threadId, thread.id)),
      (rows) => rows.some((s) => s.kind === 'structure'),
    );
    expect(found.find((s) => s.kind === 'structure')).toMatchObject({ agentType: 'structure', status: 'pending', turn: 4 });
    expect((await eventsOf(thread.id)).map((e) => e.type)).toContain('STRUCTURE_SUGGESTED');
  });
});

describe('best-effort steps degrade alone', () => {
  const optionalSteps: [string, string][] = [
    ['checkAgentConfirmation', 'agent-confirmation'],
    ['proactiveIntervention', 'proactive-intervention'],
    ['extractThreadSignals', 'signal-extraction'],
  ];
  for (const [activity, step] of optionalSteps) {
    it(`${activity} failing leaves the reply complete and records "${step}"`, async () => {
      faults.fail.add(activity);
      const { thread, send } = await newThread();
      const { reply, asked } = await send('Our goal is to hire two engineers before summer.');
      expect(asked.status).toBe('complete');
      expect(reply?.status).toBe('complete');
      const stored = await eventually(
        () => database.db.select().from(messages).where(eq(messages.id, reply!.id)),
        ([r]) => ((r?.metadata.degradations as unknown[]) ?? []).length > 0,
      );
      expect(stored[0]!.metadata.degradations).toEqual([{ step, error: `injected failure in ${activity}` }]);
      expect(stored[0]!.threadId).toBe(thread.id);
    });
  }

  it('agent inflection failing at turn 3 still answers', async () => {
    faults.fail.add('detectAgentInflection');
    const { send } = await newThread();
    await send('Please research this.');
    await send('Investigate the sources.');
    const { reply } = await send('More research please.');
    expect(reply?.status).toBe('complete');
    expect(reply?.metadata.degradations).toEqual([{ step: 'agent-inflection', error: 'injected failure in detectAgentInflection' }]);
  });
});

describe('step 4, the reply, is critical', () => {
  it('a reply that finally fails is marked failed with a readable error, never pending', async () => {
    faults.fail.add('generateReply');
    const { send } = await newThread();
    const { asked, reply } = await send('Hello there, can you help me plan?');
    expect(asked.status).toBe('failed');
    expect(reply).toMatchObject({ status: 'failed', role: 'assistant' });
    expect(reply!.content).toContain('injected failure in generateReply');
  });

  it('a reply retried after it committed is written once (idempotent under retry)', async () => {
    faults.commitThenThrowOnce.add('generateReply');
    const { thread, send } = await newThread();
    const { reply, all } = await send('Our goal is to cut costs by ten percent this year.');
    expect(reply?.status).toBe('complete');
    expect(byRole(all, 'assistant')).toHaveLength(1);
    await eventually(async () => faults.calls.get('generateReply'), (n) => n === 2);
    expect(byRole(await threadMessages(database.db, thread.id), 'assistant')).toHaveLength(1);
  });

  it('cancel stops the reply in progress, marks it failed "cancelled", and the conversation goes on', async () => {
    faults.replyDelayMs = 5000;
    const { thread, send, post } = await newThread();
    const m = await post('A slow question about leases.');
    // Cancel once the reply is being written.
    await eventually(async () => faults.calls.get('generateReply') ?? 0, (n) => n > 0);
    await env.client.workflow.getHandle(workflowIds.conversation(thread.id)).signal(cancelReplySignal);
    const { asked, reply } = await waitForAnswer(database.db, thread.id, m.id);
    expect(asked.status).toBe('failed');
    expect(reply).toMatchObject({ status: 'failed', metadata: { error: 'cancelled' } });
    faults.replyDelayMs = 0;
    const next = await send('And a quick follow-up question?');
    expect(next.reply?.status).toBe('complete');
  });
});

describe('a reply reads only the messages it answers (defect 3)', () => {
  it('the reply to the first message of a burst does not read the messages that came during its turn', async () => {
    // Step 1 is slow, so the rest of the burst is stored while the first message's turn runs.
    faults.delayMs.set('checkAgentConfirmation', 1_000);
    const { thread, post } = await newThread();
    const first = await post('Our goal is to open a bakery in York.');
    await eventually(async () => faults.calls.get('checkAgentConfirmation') ?? 0, (n) => n > 0);
    const later = [await post('There is a risk the lease falls through.'), await post('We assume flour prices stay flat.')];
    const { reply } = await waitForAnswer(database.db, thread.id, first.id);
    expect(reply?.metadata.answers).toEqual([first.id]);
    expect(reply?.content).toContain('open a bakery in York');
    expect(reply?.content).not.toContain('lease falls through');
    expect(reply?.content).not.toContain('flour prices');
    const { reply: second } = await waitForAnswer(database.db, thread.id, later[1]!.id);
    expect(second?.metadata.answers).toEqual(later.map((m) => m.id));
  });
});

describe('an unreachable database holds the turn (Decision 28)', () => {
  it('an outage longer than the reply\'s three attempts fails no message', async () => {
    // As many unreachable tries as the reply has attempts, then a fourth that works: the
    // outage is held by the workflow (1 s, then 2 s apart, inside the 6 s hold), not spent.
    faults.unreachableCalls.set('generateReply', 3);
    const { send } = await newThread();
    const { asked, reply } = await send('Our goal is to keep answering through an outage.');
    expect(asked.status).toBe('complete');
    expect(reply?.status).toBe('complete');
    expect(faults.calls.get('generateReply')).toBe(4);
  });

  it('past the hold the reply fails with a readable reason, and the conversation goes on', async () => {
    faults.unreachableUntil.set('generateReply', Date.now() + 60_000);
    const { send } = await newThread();
    const { asked, reply } = await send('This one waits for a database that does not come back.');
    expect(asked.status).toBe('failed');
    expect(reply?.content).toContain('the database was unreachable for 6 s');
    faults.unreachableUntil.clear();
    const next = await send('And this one is answered.');
    expect(next.reply?.status).toBe('complete');
  });
});

describe('step 3 runs only while its rules may find something', () => {
  it('posts one intervention per turn until none is left, then skips the step until a new signal arrives', async () => {
    const { thread, send } = await newThread();
    // Two rules fire: a decision without criteria, a risk without mitigation.
    await send('The decision is whether to lease or buy the shop. There is a risk the landlord sells the building.');
    await eventually(() => signalsOf(thread.id), (rows) => rows.length >= 2);
    const interventions = async () =>
      byRole(await threadMessages(database.db, thread.id), 'system').filter((m) => m.metadata.kind === 'intervention');
    await send('ok');
    await send('fine');
    expect((await interventions()).map((m) => m.metadata.rule).sort()).toEqual(['decision-without-criteria', 'risk-without-mitigation']);
    await send('right'); // the rules run once more and find nothing left
    const before = faults.calls.get('proactiveIntervention') ?? 0;
    await send('sure thing');
    await send('go on');
    // Nothing left to post and no new signal: the step did not run.
    expect(faults.calls.get('proactiveIntervention') ?? 0).toBe(before);
    await send('There is also a risk that the bakery oven breaks down in winter.');
    await eventually(() => signalsOf(thread.id), (rows) => rows.length >= 3);
    await send('and then?');
    expect(faults.calls.get('proactiveIntervention') ?? 0).toBeGreaterThan(before);
  });
});

describe('one message never fails the conversation (defect 2)', () => {
  it('when even marking the reply failed fails, the conversation goes on and redelivery settles the message', async () => {
    faults.fail.add('generateReply');
    faults.fail.add('failReply');
    const { thread, post, send } = await newThread();
    const lost = await post('This reply fails, and so does marking it failed.');
    await eventually(async () => faults.calls.get('failReply') ?? 0, (n) => n > 0);
    const handle = env.client.workflow.getHandle(workflowIds.conversation(thread.id));
    const { runId } = await handle.describe();
    faults.fail.clear();
    // The same run is alive (it did not fail) and answers the next message.
    const next = await send('And this one is answered.');
    expect(next.reply?.status).toBe('complete');
    expect(await handle.describe()).toMatchObject({ runId, status: { name: 'RUNNING' } });
    const [stranded] = (await threadMessages(database.db, thread.id)).filter((m) => m.id === lost.id);
    expect(stranded?.status).toBe('pending');
    // The redelivery job sends it again (the conversation forgot it), and it is answered.
    await env.client.workflow.execute('redeliverMessages', {
      workflowId: `redeliver-${thread.id}`,
      taskQueue: queues.maintenance,
      args: [{ queues }],
    });
    const { asked } = await waitForAnswer(database.db, thread.id, lost.id);
    expect(asked.status).toBe('complete');
  });
});
