/**
 * Chat step 5 through the conversation workflow: a retried extraction still embeds what it
 * created, repeated text does not stop the cursor, and a database error is recorded as a
 * degradation with a fixed sentence (no SQL, no user text), without a retry.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import type { Activities } from '../../activities/index.js';
import { events, messages, signals, threads, users } from '../../activities/db/schema/index.js';
import type { Llm } from '../../activities/llm/llm.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';
import { workflowIds } from '../../workflows/types.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { outputInvalid } from '../../activities/llm/errors.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
const queues = testQueues('signal-extraction');

const faults = {
  /** Let the activity commit, then throw once (a worker dying before it reports). */
  commitThenThrowOnce: new Set<string>(),
  /** A user name already taken: the assistant's extraction then hits a real unique violation. */
  duplicateUserName: null as string | null,
  /** The model's answers are cut off at the token limit (a failure for good). */
  cutOff: false,
  /** What each extraction call read. */
  extracted: [] as string[][],
  calls: new Map<string, number>(),
};

const withFaults = (acts: Activities) => withActivityFaults(acts, faults);

const local = createLocalLlm();
const assistant: Llm = {
  ...local,
  async extractSignals(texts, signal) {
    faults.calls.set('assistant.extractSignals', (faults.calls.get('assistant.extractSignals') ?? 0) + 1);
    faults.extracted.push(texts);
    if (faults.cutOff) throw outputInvalid('the reply was cut off at the token limit');
    if (faults.duplicateUserName) await database.db.insert(users).values({ name: faults.duplicateUserName });
    return local.extractSignals(texts, signal);
  },
};

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  workers = await startTestWorkers({ env, db: database.db, queues, llm: assistant, wrapActivities: withFaults });
});

afterAll(async () => {
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

beforeEach(() => {
  faults.commitThenThrowOnce.clear();
  faults.duplicateUserName = null;
  faults.cutOff = false;
  faults.extracted.length = 0;
  faults.calls.clear();
});

async function newThread() {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id, 'titled');
  const send = async (content: string) => {
    const m = await sendMessage({ db: database.db, client: env.client, queues, threadId: thread.id, userId: user.id }, content);
    return { message: m, ...(await waitForAnswer(database.db, thread.id, m.id)) };
  };
  return { user, thread, send };
}

const signalsOf = (threadId: string) => database.db.select().from(signals).where(eq(signals.threadId, threadId));
const cursorOf = async (threadId: string) =>
  (await database.db.select().from(threads).where(eq(threads.id, threadId)))[0]!.extractionCursor;
const degradationsOf = async (replyId: string) => {
  const [reply] = await database.db.select().from(messages).where(eq(messages.id, replyId));
  return (reply?.metadata.degradations as unknown[] | undefined) ?? [];
};

describe('an extraction retried after it committed', () => {
  it('still starts the embedding run of its range, and every new signal gets its vector', async () => {
    faults.commitThenThrowOnce.add('extractThreadSignals');
    const { thread, send } = await newThread();
    const { message } = await send('Our goal is to cut costs by ten percent. There is a risk the supplier fails.');
    await eventually(async () => faults.calls.get('extractThreadSignals'), (n) => n === 2);
    expect(await cursorOf(thread.id)).toBe(message.seq);
    const created = await signalsOf(thread.id);
    expect(created).toHaveLength(2);

    const run = env.client.workflow.getHandle(workflowIds.signalEmbeddings(thread.id, String(message.seq)));
    const status = () => run.describe().then((d) => d.status.name, () => 'NOT STARTED');
    await eventually(status, (s) => s === 'COMPLETED', 15_000);
    expect(await run.result()).toEqual({ embedded: 2 });
    const embedded = await signalsOf(thread.id);
    expect(embedded.map((s) => s.embedding?.length)).toEqual([64, 64]);
    const extracted = (await database.db.select().from(events).where(eq(events.threadId, thread.id))).filter((e) => e.type === 'SIGNALS_EXTRACTED');
    expect(extracted.map((e) => e.payload.signalIds)).toEqual([expect.arrayContaining(created.map((s) => s.id))]);
  });
});

describe('repeated text in one turn', () => {
  it('is one signal, degrades nothing, and the next extraction runs', async () => {
    const { thread, send } = await newThread();
    const first = await send('We must cut costs. We MUST cut costs!');
    await eventually(() => cursorOf(thread.id), (cursor) => cursor === first.message.seq);
    expect(await degradationsOf(first.reply!.id)).toEqual([]);
    expect((await signalsOf(thread.id)).map((s) => s.referenceCount)).toEqual([2]);
    const next = await send('Our goal is to open a second shop next spring.');
    await eventually(() => cursorOf(thread.id), (cursor) => cursor === next.message.seq);
    expect(await signalsOf(thread.id)).toHaveLength(2);
  });
});

describe('a range the model can never answer', () => {
  it('is moved past with a degradation on the reply, and the next extraction reads only what came after', async () => {
    faults.cutOff = true;
    const { thread, send } = await newThread();
    const first = await send('Our goal is something the model keeps cutting off.');
    const recorded = await eventually(() => degradationsOf(first.reply!.id), (d) => d.length > 0);
    expect(recorded).toEqual([{ step: 'signal-extraction', error: 'skipped 1 message(s): the reply was cut off at the token limit' }]);
    expect(await cursorOf(thread.id)).toBe(first.message.seq);

    faults.cutOff = false;
    faults.extracted.length = 0;
    const next = await send('We must open the second shop by June.');
    await eventually(() => cursorOf(thread.id), (cursor) => cursor === next.message.seq);
    expect(faults.extracted).toEqual([['We must open the second shop by June.']]);
    expect(await signalsOf(thread.id)).toHaveLength(1);
  });
});

describe('a database error in an optional step', () => {
  it('is recorded as a degradation with the fixed sentence, after one attempt', async () => {
    const taken = `taken-${randomUUID()}`;
    await seedUser(database.db, taken);
    faults.duplicateUserName = taken;
    const { send } = await newThread();
    const { reply } = await send('Our goal is to keep this plan private from competitors.');
    expect(reply?.status).toBe('complete');
    const recorded = await eventually(() => degradationsOf(reply!.id), (d) => d.length > 0);
    expect(recorded).toEqual([{ step: 'signal-extraction', error: 'the database rejected the write (SQLSTATE 23505)' }]);
    expect(JSON.stringify(recorded)).not.toMatch(new RegExp(`insert|params|${taken}`, 'i'));
    expect(faults.calls.get('assistant.extractSignals')).toBe(1);
  });
});
