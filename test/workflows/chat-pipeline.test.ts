import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { events, messages, runProgress, signals, threads } from '../../activities/db/schema/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { byRole, eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';
import { expectChatInvariants } from '../helpers/chat-invariants.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
const queues = testQueues('chat');

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  workers = await startTestWorkers({ env, db: database.db, queues });
});

afterAll(async () => {
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

async function newThread() {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id);
  const send = (content: string) =>
    sendMessage({ db: database.db, client: env.client, queues, threadId: thread.id, userId: user.id }, content);
  return { user, thread, send };
}

describe('chat pipeline', () => {
  it('answers three messages in order, titles the thread, extracts signals and emits events', async () => {
    const { thread, send } = await newThread();
    const said = [
      'Our goal is to open a second bakery in Leeds next spring.',
      'We assume rents near the station are about 2000 pounds a month.',
      'The budget must stay under 150k. Should we lease or buy the ovens?',
    ];
    for (const content of said) {
      const m = await send(content);
      const { reply } = await waitForAnswer(database.db, thread.id, m.id);
      expect(reply?.status).toBe('complete');
      expect(reply?.content).toContain('local assistant');
    }
    const titled = await eventually(
      () => database.db.select().from(threads).where(eq(threads.id, thread.id)),
      ([t]) => t?.title !== null,
    );
    expect(titled[0]?.title).toMatch(/goal is to open/i);
    const found = await eventually(
      () => database.db.select().from(signals).where(eq(signals.threadId, thread.id)),
      (rows) => rows.length >= 3 && rows.every((r) => r.embedding !== null),
    );
    expect(new Set(found.map((s) => s.type))).toEqual(new Set(['goal', 'assumption', 'constraint', 'question']));
    // One progress row per reply, written in the reply's own transaction (same commit time).
    const progress = await database.db.select().from(runProgress).where(eq(runProgress.workflowId, `chat-${thread.id}`));
    expect(progress.map((p) => [p.seq, p.payload.step])).toEqual([[1, 'reply'], [2, 'reply'], [3, 'reply']]);
    const replies = await database.db.select().from(messages).where(eq(messages.threadId, thread.id));
    for (const row of progress) {
      const reply = replies.find((m) => m.id === row.payload.replyId);
      expect(reply?.createdAt.getTime()).toBe(row.createdAt.getTime());
    }
    // The third user turn is analysed for an agent (step 2: the catalog holds research), after its reply.
    const emitted = await eventually(
      () => database.db.select().from(events).where(eq(events.threadId, thread.id)),
      (rows) => rows.some((e) => e.type === 'CONVERSATION_ANALYZED_FOR_AGENT'),
    );
    expect(emitted.some((e) => e.type === 'SIGNALS_EXTRACTED')).toBe(true);
    expect(emitted.filter((e) => e.type === 'CONVERSATION_ANALYZED_FOR_AGENT')).toHaveLength(1);
  });

  it('answers a burst that arrives during a reply together, in order', async () => {
    const { thread, send } = await newThread();
    const sent = [];
    for (let i = 1; i <= 5; i++) sent.push(await send(`Message number ${i} about the lease.`));
    const { all } = await waitForAnswer(database.db, thread.id, sent[4]!.id);
    const replies = byRole(all, 'assistant');
    expect(replies.every((r) => r.status === 'complete')).toBe(true);
    expect(replies.length).toBeLessThan(5);
    // every user message is answered by the one reply that lists it, in the order sent
    for (const m of byRole(all, 'user')) {
      const listing = replies.filter((r) => (r.metadata.answers as string[]).includes(m.id));
      expect(listing.map((r) => r.id)).toEqual([m.replyId]);
    }
    const answered = replies.flatMap((r) => (r.metadata.answers as string[]) ?? []);
    expect(answered).toEqual(sent.map((m) => m.id));
  });

  it('loses nothing when every reply continues as new and a burst arrives meanwhile (defect 1)', async () => {
    const user = await seedUser(database.db);
    const thread = await seedThread(database.db, user.id, 'titled');
    const options = { db: database.db, client: env.client, queues, threadId: thread.id, userId: user.id, extra: { maxTurnsPerRun: 1 } };
    const sent = [];
    // Short messages (no signals, so no child run ends a task early), a few milliseconds
    // apart, keep landing while a run continues as new.
    for (let i = 1; i <= 12; i++) {
      sent.push(await sendMessage(options, `hi ${i}`));
      await new Promise((r) => setTimeout(r, (i * 7) % 20));
    }
    const report = await expectChatInvariants(database.db, [thread.id], { requireComplete: true, sent: sent.map((m) => m.id), timeoutMs: 30_000 });
    expect(report.complete).toBe(12);
    const runs = await env.client.workflow.list({ query: `WorkflowId = "chat-${thread.id}"` }).intoHistories();
    let count = 0;
    for await (const _ of runs) count++;
    expect(count).toBeGreaterThan(1);
  });
});
