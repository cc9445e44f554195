/**
 * The chat redelivery job (issue 11, defect 8; issue 16): messages a gateway stored but never
 * signalled are answered after `redeliverMessages` runs; messages a conversation holds are
 * not re-sent, however many pages of them come first; a thread whose re-send fails is counted
 * and the others go on; a run that meets its budget is continued by the next; a worker lost
 * mid-run loses nothing and answers nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { messages } from '../../activities/db/schema/index.js';
import { signalConversation, storeUserMessage } from '../../api/chat-handoff.js';
import { UNSEEN_QUERY_TIMEOUT_MS } from '../../activities/redelivery.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import type { Llm } from '../../activities/llm/llm.js';
import type { redeliverMessages } from '../../workflows/index.js';
import { workflowIds, type NewMessage, type PendingKindReport, type RedeliverMessagesInput } from '../../workflows/types.js';
import { eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestWorkers, type TestWorkerOptions } from '../helpers/stack.js';
import { connectTestEnv, testQueues, uniqueId } from '../helpers/temporal.js';

/** Short, so a test's messages count as old after a brief wait. */
const REDELIVERY_AFTER_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let env: TestWorkflowEnvironment;
let database: TestDatabase;
const queues = testQueues('redelivery');

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
});

afterAll(async () => {
  await env?.teardown();
  await database?.drop();
});

/** Each test runs its own workers (some are gated or fail on purpose) and stops them. */
async function withWorkers<T>(extra: Partial<TestWorkerOptions>, fn: () => Promise<T>): Promise<T> {
  const workers = await startTestWorkers({ env, db: database.db, queues, redeliveryAfterMs: REDELIVERY_AFTER_MS, ...extra });
  try {
    return await fn();
  } finally {
    await workers.stop();
  }
}

function startRedelivery(input: Partial<RedeliverMessagesInput> = {}) {
  return env.client.workflow.start<typeof redeliverMessages>('redeliverMessages', {
    workflowId: uniqueId('redeliver'),
    taskQueue: queues.maintenance,
    args: [{ queues, ...input }],
  });
}

/** The run's report of the messages (this file stores no other kind of row). */
const redeliver = async (input: Partial<RedeliverMessagesInput> = {}): Promise<PendingKindReport> => (await (await startRedelivery(input)).result()).messages;

/** A finished pass's report: everything read, nothing failed. */
const done = (examined: number, resent: number, threads: number): PendingKindReport => ({ examined, resent, units: threads, failedUnits: 0, complete: true });

/** The env's client, except that signal-with-start to these workflow ids throws. */
function failingSignals(client: Client, workflowIdsToFail: Set<string>): Client {
  const workflow = new Proxy(client.workflow, {
    get(target, prop) {
      if (prop === 'signalWithStart') {
        return (type: string, options: { workflowId: string }) => {
          if (workflowIdsToFail.has(options.workflowId)) return Promise.reject(new Error('injected signal failure'));
          return target.signalWithStart(type, options as Parameters<typeof target.signalWithStart>[1]);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'workflow') return workflow;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function newThread() {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id);
  const o = { db: database.db, client: env.client, queues, threadId: thread.id, userId: user.id };
  return {
    thread,
    /** The gateway's hand-off: store, then signal. */
    send: (content: string, extra = {}) => sendMessage({ ...o, extra }, content),
    /** What a gateway crash between commit and signal leaves: stored, never signalled. */
    storeOnly: async (content: string) => (await storeUserMessage(database.db, user.id, thread.id, content)).message,
  };
}

/** The `newMessage` signals the thread's latest conversation run received, in order. */
async function newMessageSignals(threadId: string): Promise<NewMessage[]> {
  const history = await env.client.workflow.getHandle(workflowIds.conversation(threadId)).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const signalled = e.workflowExecutionSignaledEventAttributes;
    const data = signalled?.input?.payloads?.[0]?.data;
    return signalled?.signalName === 'newMessage' && data ? [JSON.parse(Buffer.from(data).toString('utf8')) as NewMessage] : [];
  });
}

/** A local assistant whose replies wait until released: keeps a reply in flight. */
function gatedAssistant() {
  const local = createLocalLlm();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const replying = new Promise<void>((r) => (entered = r));
  const assistant: Llm = {
    ...local,
    async reply(input) {
      entered();
      await gate;
      return local.reply(input);
    },
  };
  return { assistant, replying, release };
}

describe('chat redelivery', () => {
  it('re-sends a newly stranded message behind more than a page of messages a busy conversation holds', async () => {
    const { assistant, replying, release } = gatedAssistant();
    await withWorkers({ llm: assistant }, async () => {
      const busy = await newThread();
      const held = [await busy.send('Our goal is to open a bakery.')];
      await replying;
      for (const content of ['We assume rents are about 2000.', 'The budget must stay under 50k.', 'Is there a risk of delays?', 'Should we lease the ovens?']) {
        held.push(await busy.send(content));
      }
      const stranded = await newThread();
      const lost = await stranded.storeOnly('What evidence is there on footfall?');
      await sleep(REDELIVERY_AFTER_MS + 100);
      try {
        // Pages of 2: the busy thread's five messages fill the first pages.
        expect(await redeliver({ pageSize: 2 })).toEqual(done(6, 1, 2));
      } finally {
        release();
      }
      const sent = [...held.map((m) => m.id), lost.id];
      await expectChatInvariants(database.db, [busy.thread.id, stranded.thread.id], { requireComplete: true, sent, calmMs: 500 });
      expect((await newMessageSignals(stranded.thread.id)).map((s) => s.messageId)).toEqual([lost.id]);
    });
  });

  it('counts a thread whose re-send fails, and re-sends the others', async () => {
    const [a, b, c] = [await newThread(), await newThread(), await newThread()];
    const lost = [await a.storeOnly('Our goal is to open a bakery.'), await b.storeOnly('Should we lease the ovens?'), await c.storeOnly('Rents are high.')];
    await sleep(REDELIVERY_AFTER_MS + 100);
    const temporal = failingSignals(env.client, new Set([workflowIds.conversation(b.thread.id)]));
    await withWorkers({ temporal }, async () => {
      expect(await redeliver({ pageSize: 2 })).toEqual({ ...done(2, 2, 2), failedUnits: 1 });
      await expectChatInvariants(database.db, [a.thread.id, c.thread.id], { requireComplete: true, sent: [lost[0]!.id, lost[2]!.id], calmMs: 500 });
    });
    const [stillPending] = await database.db.select().from(messages).where(eq(messages.id, lost[1]!.id));
    expect(stillPending?.status).toBe('pending');
    // The next run, with signals working again, re-sends it.
    await withWorkers({}, async () => {
      expect(await redeliver()).toEqual(done(1, 1, 1));
      await expectChatInvariants(database.db, [b.thread.id], { requireComplete: true, sent: [lost[1]!.id], calmMs: 500 });
    });
  });

  it('stops at its time budget, saying where, and a run given that place goes on from there', async () => {
    const [a, b] = [await newThread(), await newThread()];
    const lost = [await a.storeOnly('Our goal is to open a bakery.'), await b.storeOnly('Should we lease the ovens?')];
    await sleep(REDELIVERY_AFTER_MS + 100);
    // A budget already spent: the run does its first page (one message) and stops.
    const spent = (acts: Parameters<NonNullable<TestWorkerOptions['wrapActivities']>>[0]) => ({
      ...acts,
      redeliverPending: (req: Parameters<typeof acts.redeliverPending>[0]) => acts.redeliverPending({ ...req, stopBy: 0 }),
    });
    await withWorkers({ wrapActivities: spent }, async () => {
      const first = await redeliver({ pageSize: 1 });
      expect(first).toEqual({ ...done(1, 1, 1), complete: false, resumeAfter: { createdAt: expect.stringMatching(/Z$/), seq: lost[0]!.seq } });
      const second = await redeliver({ pageSize: 1, resumeAfter: { messages: first.resumeAfter } });
      expect(second).toEqual({ ...done(1, 1, 1), complete: false, resumeAfter: { createdAt: expect.any(String), seq: lost[1]!.seq } });
      expect(await redeliver({ pageSize: 1, resumeAfter: { messages: second.resumeAfter } })).toEqual(done(0, 0, 0));
      await expectChatInvariants(database.db, [a.thread.id, b.thread.id], { requireComplete: true, sent: lost.map((m) => m.id), calmMs: 500 });
    });
  });

  it('answers messages stored but never signalled: with no run, an open run, a closed run', async () => {
    await withWorkers({}, async () => {
      const fresh = await newThread();
      const open = await newThread();
      const closed = await newThread();
      for (const content of ['Our goal is to open a bakery.', 'We assume rents are about 2000 a month.']) {
        await waitForAnswer(database.db, open.thread.id, (await open.send(content)).id);
      }
      const first = await closed.send('The budget must stay under 50k.', { idleTimeoutMs: 300 });
      await waitForAnswer(database.db, closed.thread.id, first.id);
      const closedRun = env.client.workflow.getHandle(workflowIds.conversation(closed.thread.id));
      await eventually(() => closedRun.describe(), (d) => d.status.name === 'COMPLETED');

      const lost = [
        await fresh.storeOnly('Should we lease or buy the ovens?'),
        await open.storeOnly('What evidence is there on footfall?'),
        await closed.storeOnly('There is a risk that flour prices rise.'),
      ];
      await sleep(REDELIVERY_AFTER_MS + 100);
      expect(await redeliver()).toEqual(done(3, 3, 3));

      const threadIds = [fresh, open, closed].map((t) => t.thread.id);
      await expectChatInvariants(database.db, threadIds, { requireComplete: true, sent: lost.map((m) => m.id), calmMs: 500 });
      // The turn is recomputed from the stored messages: the third user message is turn 3.
      expect((await newMessageSignals(open.thread.id)).map((s) => s.turn)).toEqual([1, 2, 3]);
      expect((await newMessageSignals(closed.thread.id)).map((s) => [s.messageId, s.turn])).toEqual([[lost[2]!.id, 2]]);
      // Nothing is pending any more, so a second run re-sends nothing.
      expect(await redeliver()).toEqual(done(0, 0, 0));
    });
  });

  it('does not re-send messages the running conversation already holds', async () => {
    const { assistant, replying, release } = gatedAssistant();
    await withWorkers({ llm: assistant }, async () => {
      const { thread, send } = await newThread();
      const answering = await send('Our goal is to open a bakery.');
      await replying;
      const queued = await send('We assume rents are about 2000 a month.');
      await sleep(REDELIVERY_AFTER_MS + 100);
      try {
        expect(await redeliver()).toEqual(done(2, 0, 1));
      } finally {
        release();
      }
      await expectChatInvariants(database.db, [thread.id], { requireComplete: true, sent: [answering.id, queued.id], calmMs: 500 });
      expect((await newMessageSignals(thread.id)).map((s) => s.messageId)).toEqual([answering.id, queued.id]);
    });
  });

  it('re-sends when no worker answers the query in time, and then stops asking', async () => {
    // Conversations on queues no worker polls: running, but nobody answers a query.
    const nobody = testQueues('redelivery-unserved');
    const stuck = [];
    // More threads than the job asks at once: the later ones are not asked at all.
    for (const content of ['Is anyone there?', 'Hello?', 'Still waiting.', 'Anyone?', 'Please answer.', 'Hello again?']) {
      const user = await seedUser(database.db);
      const thread = await seedThread(database.db, user.id);
      const stored = await storeUserMessage(database.db, user.id, thread.id, content);
      await signalConversation(env.client, nobody, user.id, stored);
      stuck.push(thread.id);
    }
    await sleep(REDELIVERY_AFTER_MS + 100);
    await withWorkers({}, async () => {
      const started = Date.now();
      expect(await redeliver()).toEqual(done(6, 6, 6));
      // The queries in flight at once wait out their bound together; no thread is asked after.
      expect(Date.now() - started).toBeLessThan(2 * UNSEEN_QUERY_TIMEOUT_MS);
    });
    // Once a worker serves their queue, each is answered once (first signal and re-send alike).
    const late = await startTestWorkers({ env, db: database.db, queues: nobody });
    try {
      await expectChatInvariants(database.db, stuck, { requireComplete: true, calmMs: 500 });
    } finally {
      await late.stop();
    }
  });

  it('loses nothing and answers nothing twice when the worker is lost mid-run', async () => {
    let firstAttempt!: (report: PendingKindReport) => void;
    const firstAttemptDone = new Promise<PendingKindReport>((r) => (firstAttempt = r));
    const a = await newThread();
    const b = await newThread();
    const lost = [await a.storeOnly('Our goal is to open a bakery.'), await b.storeOnly('Should we lease the ovens?')];
    await sleep(REDELIVERY_AFTER_MS + 100);

    // The first worker's attempt re-sends the oldest message only (one page of one, then its
    // budget is up), then hangs until the worker shuts down under it: what a crash half-way
    // through a run leaves.
    const handle = await withWorkers(
      {
        wrapActivities: (acts) => ({
          ...acts,
          async redeliverPending(req) {
            if (req.kind !== 'messages' || Context.current().info.attempt > 1) return acts.redeliverPending(req);
            firstAttempt(await acts.redeliverPending({ ...req, pageSize: 1, stopBy: 0 }));
            return Context.current().cancelled;
          },
        }),
      },
      async () => {
        const started = await startRedelivery();
        expect(await firstAttemptDone).toMatchObject({ examined: 1, resent: 1, units: 1, complete: false });
        await waitForAnswer(database.db, a.thread.id, lost[0]!.id);
        return started;
      },
    );

    // A new worker: the server retries the activity (after the policy's 10 s), which goes on
    // from its predecessor's last beat (or from the start: a's message is no longer pending).
    await withWorkers({}, async () => {
      expect((await handle.result()).messages).toMatchObject({ resent: expect.any(Number), failedUnits: 0, complete: true });
      await expectChatInvariants(database.db, [a.thread.id, b.thread.id], { requireComplete: true, sent: lost.map((m) => m.id), calmMs: 500 });
    });
    expect((await newMessageSignals(a.thread.id)).map((s) => s.messageId)).toEqual([lost[0]!.id]);
    expect((await newMessageSignals(b.thread.id)).map((s) => s.messageId)).toEqual([lost[1]!.id]);
  });
});
