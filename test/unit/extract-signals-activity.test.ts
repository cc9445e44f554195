/**
 * Chat step 5 called as an activity, over the file's own database: repeated text, and a
 * result that is a function of the cursor range, whatever retries and later turns happen.
 */
import { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { events, signals, threads } from '../../activities/db/schema/index.js';
import type { ExtractedSignal, Llm } from '../../activities/llm/llm.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { llmFailure, outputInvalid } from '../../activities/llm/errors.js';
import { storeUserMessage } from '../../api/chat-handoff.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedThread, seedUser } from '../helpers/chat.js';
import { testQueues } from '../helpers/temporal.js';

let database: TestDatabase;
/** What the scripted assistant extracts next; null means "ask the local heuristics". */
let scripted: ExtractedSignal[] | null = null;
/** A failure the assistant throws instead of answering, while set. */
let failWith: ApplicationFailure | null = null;
/** The texts of every extraction call, in order. */
const asked: string[][] = [];

const local = createLocalLlm();
const assistant: Llm = {
  ...local,
  extractSignals: async (texts, signal) => {
    asked.push(texts);
    if (failWith) throw failWith;
    return scripted ?? local.extractSignals(texts, signal);
  },
};

function activities(signalExtraction?: { maxMessages: number; maxChars: number }) {
  return createActivities({
    db: database.db,
    llm: assistant,
    embedder: createLocalEmbedder(64),
    // Lazy: it connects on first use, and signal extraction never uses it.
    temporal: new Client(),
    config: { queues: testQueues('extract-activity'), chat: { redeliveryAfterMs: 30_000 }, signalExtraction },
    clock: () => new Date(),
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

async function newThread() {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id, 'titled');
  const say = async (content: string) => (await storeUserMessage(database.db, user.id, thread.id, content)).message;
  return { thread, say };
}

const signalsOf = (threadId: string) => database.db.select().from(signals).where(eq(signals.threadId, threadId));
const cursorOf = async (threadId: string) =>
  (await database.db.select().from(threads).where(eq(threads.id, threadId)))[0]!.extractionCursor;

describe('repeated text in one batch', () => {
  it('stores one signal for two sentences that normalise the same, and the cursor moves on', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const first = await say('We must cut costs. We MUST cut costs!');
    const result = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: first.id });
    const stored = await signalsOf(thread.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ type: 'constraint', referenceCount: 2 });
    expect(result).toEqual({ signalIds: [stored[0]!.id], cursor: first.seq });
    expect(await cursorOf(thread.id)).toBe(first.seq);

    const next = await say('Our goal is to open a second shop.');
    const later = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: next.id });
    expect(later.signalIds).toHaveLength(1);
    expect(await cursorOf(thread.id)).toBe(next.seq);
  });

  it('keeps the most confident of the model\'s duplicates and counts each mention', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const message = await say('Costs, costs, costs.');
    scripted = [
      { type: 'goal', text: 'Cut costs', confidence: 0.5 },
      { type: 'constraint', text: 'cut   COSTS.', confidence: 0.9 },
      { type: 'goal', text: 'cut costs!', confidence: 0.7 },
    ];
    try {
      await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: message.id });
    } finally {
      scripted = null;
    }
    const stored = await signalsOf(thread.id);
    expect(stored.map((s) => ({ type: s.type, text: s.text, confidence: s.confidence, referenceCount: s.referenceCount })))
      .toEqual([{ type: 'constraint', text: 'cut   COSTS.', confidence: expect.closeTo(0.9, 5), referenceCount: 3 }]);
  });

  it('adds every mention to a signal the thread already has', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const first = await say('We must cut costs this year.');
    await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: first.id });
    const again = await say('We must cut costs this year! we must cut costs this year');
    const result = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: again.id });
    expect(result.signalIds).toEqual([]);
    expect((await signalsOf(thread.id)).map((s) => s.referenceCount)).toEqual([3]);
  });
});

describe('the result of an extraction is a function of its range', () => {
  it('a retry after the commit returns the same new signal ids', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    await say('Our goal is to hire two engineers.');
    const upto = await say('The budget must stay under 50k.');
    const request = { threadId: thread.id, uptoMessageId: upto.id };
    const first = await acts.extractThreadSignals(request);
    expect(first.signalIds).toHaveLength(2);
    expect(await acts.extractThreadSignals(request)).toEqual(first);
  });

  it('still returns them after a later extraction moved the cursor past the range', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const upto = await say('There is a risk the supplier fails.');
    const request = { threadId: thread.id, uptoMessageId: upto.id };
    const first = await acts.extractThreadSignals(request);
    const later = await say('We assume prices will rise next year.');
    const second = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: later.id });
    expect(second.signalIds).toHaveLength(1);
    expect(await cursorOf(thread.id)).toBe(later.seq);
    expect(await acts.extractThreadSignals(request)).toEqual(first);
  });

  it('records the ids in the SIGNALS_EXTRACTED event of the range, once', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const upto = await say('Should we pick between two vendors?');
    const { signalIds } = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: upto.id });
    await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: upto.id });
    const extracted = await database.db.select().from(events).where(eq(events.threadId, thread.id));
    expect(extracted.map((e) => [e.idempotencyKey, e.payload.signalIds])).toEqual([
      [`signals-extracted:${thread.id}:${upto.seq}`, signalIds],
    ]);
  });

  it('a range that was never extracted on its own returns nothing', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const early = await say('We need to decide on the lease.');
    const late = await say('Our goal is to move by June.');
    await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: late.id });
    // The later range covered `early`: its signals belong to that range's result.
    expect(await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: early.id })).toEqual({ signalIds: [], cursor: early.seq });
  });
});

describe('the range read in one call is bounded', () => {
  it('reads at most SIGNAL_EXTRACTION_MAX_MESSAGES, oldest first, and the next extraction goes on from there', async () => {
    const acts = activities({ maxMessages: 2, maxChars: 10_000 });
    const { thread, say } = await newThread();
    const said = [];
    for (const text of ['Our goal is to open a shop.', 'We must stay under budget.', 'There is a risk of delays.']) said.push(await say(text));
    asked.length = 0;
    const request = { threadId: thread.id, uptoMessageId: said[2]!.id };
    const first = await acts.extractThreadSignals(request);
    expect(asked).toEqual([['Our goal is to open a shop.', 'We must stay under budget.']]);
    expect(first).toMatchObject({ cursor: said[1]!.seq });
    expect(first.signalIds).toHaveLength(2);
    // A retry of the same request after its commit returns what it did, and reads nothing.
    expect(await acts.extractThreadSignals(request)).toEqual(first);
    expect(asked).toHaveLength(1);

    const later = await say('Should we lease the ovens?');
    const next = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: later.id });
    expect(asked[1]).toEqual(['There is a risk of delays.', 'Should we lease the ovens?']);
    expect(next.cursor).toBe(later.seq);
  });

  it('reads at most SIGNAL_EXTRACTION_MAX_CHARS, and cuts one message longer than that', async () => {
    const acts = activities({ maxMessages: 20, maxChars: 40 });
    const { thread, say } = await newThread();
    const long = await say(`Our goal is ${'to grow '.repeat(10)}this year.`);
    const short = await say('We must hire.');
    asked.length = 0;
    const first = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: short.id });
    expect(asked[0]!.map((t) => t.length)).toEqual([40]);
    expect(first.cursor).toBe(long.seq);
    const next = await say('We need a van.');
    const second = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: next.id });
    expect(asked[1]).toEqual(['We must hire.', 'We need a van.']);
    expect(second.cursor).toBe(next.seq);
  });
});

describe('a range that fails for good', () => {
  it('is moved past, its failure recorded once in its event, and the next extraction reads only what came after', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const bad = await say('Our goal is something the model cannot answer.');
    failWith = outputInvalid('the reply was cut off at the token limit');
    const request = { threadId: thread.id, uptoMessageId: bad.id };
    let first;
    try {
      first = await acts.extractThreadSignals(request);
    } finally {
      failWith = null;
    }
    expect(first).toEqual({ signalIds: [], cursor: bad.seq, failed: 'skipped 1 message(s): the reply was cut off at the token limit' });
    expect(await cursorOf(thread.id)).toBe(bad.seq);
    expect(await acts.extractThreadSignals(request)).toEqual(first);
    const recorded = await database.db.select().from(events).where(eq(events.threadId, thread.id));
    expect(recorded.map((e) => [e.idempotencyKey, e.payload.failed, e.payload.reason])).toEqual([
      [`signals-extracted:${thread.id}:${bad.seq}`, true, 'the reply was cut off at the token limit'],
    ]);

    asked.length = 0;
    const good = await say('We must open by June.');
    const next = await acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: good.id });
    expect(asked).toEqual([['We must open by June.']]);
    expect(next.signalIds).toHaveLength(1);
  });

  it('a transient failure leaves the cursor where it was', async () => {
    const acts = activities();
    const { thread, say } = await newThread();
    const message = await say('Our goal is to open a shop.');
    failWith = llmFailure('LlmTransient', 'LLM API answered 503');
    try {
      await expect(acts.extractThreadSignals({ threadId: thread.id, uptoMessageId: message.id })).rejects.toMatchObject({ type: 'LlmTransient' });
    } finally {
      failWith = null;
    }
    expect(await cursorOf(thread.id)).toBe(0);
  });
});
