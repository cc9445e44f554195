/**
 * The token ledger under the chat pipeline (DESIGN.md Decision 17): a row per model call,
 * keyed by the activity attempt that made it, written in the transaction of the work it
 * paid for; counted once per attempt however often its write repeats.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Activities } from '../../activities/index.js';
import { documents, messages, tokenLedger } from '../../activities/db/schema/index.js';
import { createDocumentActivities } from '../../activities/documents/activities.js';
import { storeDocument } from '../../activities/documents/store.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import type { Embedder } from '../../activities/llm/types.js';
import { meterAttempt } from '../../activities/usage.js';
import { workflowIds } from '../../workflows/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';
import { seedCase } from '../helpers/documents.js';
import { FIXTURE_AGENTS } from '../fixtures/agents.js';
import { withActivityFaults } from '../helpers/activity-faults.js';

const workflowsPath = fileURLToPath(new URL('../fixtures/workflows-with-agents.ts', import.meta.url));
let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
const queues = testQueues('ledger');

const faults = {
  /** Let the activity commit, then throw once (a worker dying before it reports). */
  commitThenThrowOnce: new Set<string>(),
  /** The model answers, and the answer is rejected as transient once: the retry pays again. */
  rejectReplyOnce: false,
  calls: new Map<string, number>(),
};

const withFaults = (acts: Activities) => withActivityFaults(acts, faults);

const local = createLocalLlm();
const llm: Llm = {
  ...local,
  async reply(input) {
    const text = await local.reply(input);
    if (faults.rejectReplyOnce) {
      faults.rejectReplyOnce = false;
      throw ApplicationFailure.retryable('the answer was rejected after the model was paid', 'LlmTransient');
    }
    return text;
  },
};

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  workers = await startTestWorkers({ env, db: database.db, queues, workflowsPath, wrapActivities: withFaults, llm });
});

afterAll(async () => {
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

beforeEach(() => {
  faults.commitThenThrowOnce.clear();
  faults.rejectReplyOnce = false;
  faults.calls.clear();
});

async function newThread(title: string | null = 'titled') {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id, title);
  const options = { db: database.db, client: env.client, queues, threadId: thread.id, userId: user.id, extra: { agents: FIXTURE_AGENTS } };
  const send = async (content: string) => waitForAnswer(database.db, thread.id, (await sendMessage(options, content)).id);
  return { user, thread, send };
}

const ledgerOf = (userId: string) =>
  database.db.select().from(tokenLedger).where(eq(tokenLedger.userId, userId)).orderBy(asc(tokenLedger.createdAt));
const repliesOf = (threadId: string) =>
  database.db
    .select()
    .from(tokenLedger)
    .where(and(eq(tokenLedger.workflowId, workflowIds.conversation(threadId)), eq(tokenLedger.purpose, 'reply')));

describe('the token ledger on the chat path', () => {
  it('records every purpose of a conversation under the thread user, the reply in its own transaction', async () => {
    const { user, thread, send } = await newThread(null);
    const { reply } = await send('We need to research the market for oat milk before we launch.');
    await send('Find sources on pricing and investigate the competitors.');
    await send('What evidence is there that demand is growing?');
    const purposes = ['embedding', 'inflection', 'reply', 'signal-extraction', 'title'];
    const rows = await eventually(() => ledgerOf(user.id), (all) => purposes.every((p) => all.some((r) => r.purpose === p)));
    expect(new Set(rows.map((r) => r.purpose))).toEqual(new Set(purposes));
    for (const row of rows) {
      expect(row).toMatchObject({ provider: 'local', userId: user.id, attempt: 1, call: 0 });
      expect(row.promptTokens).toBeGreaterThan(0);
    }
    const replies = rows.filter((r) => r.purpose === 'reply');
    expect(replies).toHaveLength(3);
    expect(new Set(replies.map((r) => r.activityId)).size).toBe(3);
    expect(replies.every((r) => r.workflowId === workflowIds.conversation(thread.id))).toBe(true);
    // The title is generated once, by its own workflow; later turns find it and call nothing.
    expect(rows.filter((r) => r.purpose === 'title').map((r) => r.workflowId)).toEqual([workflowIds.chatTitle(thread.id)]);
    // now() is the transaction's start: equal timestamps mean the row and the reply committed together.
    const [stored] = await database.db.select().from(messages).where(eq(messages.id, reply!.id));
    expect(replies.map((r) => r.createdAt.getTime())).toContain(stored!.createdAt.getTime());
  });

  it('counts a reply retried after it committed once: the retry finds it answered and calls no model', async () => {
    faults.commitThenThrowOnce.add('generateReply');
    const { user, thread, send } = await newThread();
    const { reply } = await send('Our goal is to cut costs by ten percent this year.');
    expect(reply?.status).toBe('complete');
    await eventually(async () => faults.calls.get('generateReply'), (n) => n === 2);
    const [row, ...others] = await repliesOf(thread.id);
    expect(others).toHaveLength(0);
    expect(row).toMatchObject({ attempt: 1, call: 0, userId: user.id });

    // The same attempt written again is a no-op; the next attempt is a row of its own.
    const usage = { purpose: 'reply' as const, provider: 'local' as const, model: 'local-rules', promptTokens: 1, completionTokens: 1, latencyMs: 0 };
    const key = { workflowId: row!.workflowId, runId: row!.runId, activityId: row!.activityId, attempt: row!.attempt };
    for (let i = 0; i < 2; i++) {
      const again = meterAttempt(database.db, user.id, key);
      await again.call(async (call) => call.usage?.record(usage));
      await again.inTransaction(async () => undefined);
    }
    expect(await repliesOf(thread.id)).toEqual([row]);
    const retry = meterAttempt(database.db, user.id, { ...key, attempt: 2 });
    await retry.call(async (call) => call.usage?.record(usage));
    await retry.inTransaction(async () => undefined);
    expect((await repliesOf(thread.id)).map((r) => r.attempt).sort()).toEqual([1, 2]);
  });

  it('counts each attempt that paid: an answer rejected after the model answered, then the retry', async () => {
    faults.rejectReplyOnce = true;
    const { thread, send } = await newThread();
    const { reply } = await send('Our goal is to open a second shop by spring.');
    expect(reply?.status).toBe('complete');
    const rows = await repliesOf(thread.id);
    expect(rows.map((r) => r.attempt).sort()).toEqual([1, 2]);
    expect(new Set(rows.map((r) => r.activityId)).size).toBe(1);
    expect(rows[0]!.promptTokens).toBe(rows[1]!.promptTokens);
  });

  it('counts an attempt whose transaction rolled back: the model was paid though nothing was stored', async () => {
    const { thread, send } = await newThread();
    // The first reply row of this thread fails to insert, as a serialization failure would (retried);
    // a sequence is not rolled back with it, so once.
    await database.db.execute(sql.raw(`
      create sequence reply_fault;
      create function reply_fault() returns trigger language plpgsql as $$
        begin
          if new.thread_id = '${thread.id}' and new.role = 'assistant' and nextval('reply_fault') = 1 then
            raise exception 'injected: the reply insert failed' using errcode = '40001';
          end if;
          return new;
        end $$;
      create trigger reply_fault before insert on messages for each row execute function reply_fault();`));
    try {
      const { reply } = await send('Our goal is to hire two bakers before summer.');
      expect(reply?.status).toBe('complete');
    } finally {
      await database.db.execute(sql.raw('drop trigger reply_fault on messages; drop function reply_fault(); drop sequence reply_fault;'));
    }
    const rows = await repliesOf(thread.id);
    expect(rows.map((r) => r.attempt).sort()).toEqual([1, 2]);
    expect(new Set(rows.map((r) => r.activityId)).size).toBe(1);
  });
});

describe('the token ledger when the work is not stored', () => {
  it('counts an embedding call whose answer was refused before its transaction', async () => {
    const user = await seedUser(database.db);
    const caseId = await seedCase(database.db, user.id);
    const { document } = await storeDocument(database.db, {
      caseId, userId: user.id, source: 'upload', title: 'short.txt', contentType: 'text/plain', content: 'The oven costs 4000.',
    });
    await database.db.update(documents).set({ extractedText: 'The oven costs 4000.' }).where(eq(documents.id, document.id));
    const local = createLocalEmbedder(16);
    // It answers (and reports its usage), but with one vector too few.
    const short: Embedder = { ...local, embed: async (texts, call) => (await local.embed(texts, call)).slice(1) };
    const acts = createDocumentActivities({ db: database.db, embedder: short, config: {}, clock: () => new Date() });
    const runId = randomUUID();
    const activityEnv = new MockActivityEnvironment({ activityId: 'embed-1', workflowExecution: { workflowId: `document-${document.id}`, runId } });
    const err = await activityEnv.run(acts.embedDocumentChunks, { documentId: document.id, firstSeq: 2 }).then(() => undefined, (e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('LlmOutputInvalid');
    const rows = await database.db.select().from(tokenLedger).where(eq(tokenLedger.runId, runId));
    expect(rows).toEqual([expect.objectContaining({ purpose: 'embedding', userId: user.id, attempt: 1, call: 0 })]);
  });
});
