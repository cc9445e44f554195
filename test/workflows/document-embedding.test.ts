/**
 * The embedding step's resume (issue 13; reliability T4 without the kill): an attempt that
 * dies after storing some batches is followed by one that starts after the batch its last
 * heartbeat names, skips batches stored after that heartbeat, and starts over only when
 * the batches were cut under another plan. Run in MockActivityEnvironment on a real database.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkDrafts, documents } from '../../activities/db/schema/index.js';
import { createDocumentActivities } from '../../activities/documents/activities.js';
import type { EmbedCheckpoint, EmbedResult } from '../../activities/documents/embed.js';
import { storeDocument } from '../../activities/documents/store.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import type { Embedder } from '../../activities/llm/types.js';
import { seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';

const SETTINGS = { chunkTokens: 40, chunkOverlapTokens: 5, embedBatchSize: 2 };
const TEXT = Array.from({ length: 40 }, (_, i) => `Sentence ${i} is about the bakery, its ovens and its rent.`).join(' ');

let database: TestDatabase;
let documentId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const user = await seedUser(database.db);
  const caseId = await seedCase(database.db, user.id);
  ({ document: { id: documentId } } = await storeDocument(database.db, {
    caseId, userId: user.id, source: 'upload', title: 't.txt', contentType: 'text/plain', content: TEXT,
  }));
  await database.db.update(documents).set({ extractedText: TEXT, processingStatus: 'processing' }).where(eq(documents.id, documentId));
});

afterAll(async () => {
  await database?.drop();
});

/** The local embedder, counting calls, failing (as a crash would end the attempt) on call `dieAt`. */
function countingEmbedder(dieAt?: number): Embedder & { calls: () => number } {
  const local = createLocalEmbedder(16);
  let calls = 0;
  return {
    ...local,
    calls: () => calls,
    async embed(texts, call) {
      if (++calls === dieAt) throw new Error('the worker died');
      return local.embed(texts, call);
    },
  };
}

interface Attempt {
  runId: string;
  attempt: number;
  heartbeatDetails?: EmbedCheckpoint;
  embedder: Embedder;
}

/** One attempt of embedDocumentChunks; resolves with its result or error and the heartbeats it sent. */
async function runAttempt(a: Attempt) {
  const env = new MockActivityEnvironment({
    attempt: a.attempt,
    heartbeatDetails: a.heartbeatDetails,
    workflowExecution: { workflowId: `document-${documentId}`, runId: a.runId },
  });
  const beats: (EmbedCheckpoint | undefined)[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d as EmbedCheckpoint | undefined));
  const acts = createDocumentActivities({ db: database.db, embedder: a.embedder, config: { documents: SETTINGS }, clock: () => new Date() });
  let outcome: { result?: EmbedResult; error?: unknown };
  try {
    outcome = { result: await env.run(acts.embedDocumentChunks, { documentId, firstSeq: 2 }) };
  } catch (error) {
    outcome = { error };
  }
  return { ...outcome, beats, last: beats.filter(Boolean).at(-1) };
}

const draftOrdinals = async (runId: string) =>
  (await database.db.select({ o: chunkDrafts.ordinal }).from(chunkDrafts)
    .where(and(eq(chunkDrafts.documentId, documentId), eq(chunkDrafts.runId, runId))).orderBy(asc(chunkDrafts.ordinal))).map((r) => r.o);

/** A first attempt that stores 3 batches, then dies on the 4th call. */
async function crashedFirstAttempt(runId: string) {
  const first = await runAttempt({ runId, attempt: 1, embedder: countingEmbedder(4) });
  expect(first.error).toBeInstanceOf(Error);
  expect(first.last?.lastBatch).toBe(2);
  expect(await draftOrdinals(runId)).toEqual([0, 1, 2, 3, 4, 5]);
  return first;
}

describe('embedDocumentChunks resumes', () => {
  it('after the batch its last heartbeat names, embedding only the rest', async () => {
    const runId = randomUUID();
    const first = await crashedFirstAttempt(runId);
    const embedder = countingEmbedder();
    const second = await runAttempt({ runId, attempt: 2, heartbeatDetails: first.last, embedder });
    const { chunks, batches } = second.result!;
    expect(batches).toBeGreaterThan(5);
    expect(embedder.calls()).toBe(batches - 3);
    expect(await draftOrdinals(runId)).toEqual(Array.from({ length: chunks }, (_, i) => i));
    expect(second.last).toEqual({ plan: first.last!.plan, lastBatch: batches - 1 });
  });

  it('without calling the embedder again for batches stored after the last heartbeat that got out', async () => {
    const runId = randomUUID();
    const first = await crashedFirstAttempt(runId);
    // Heartbeats are throttled: the server may hold an older one, or none at all.
    const embedder = countingEmbedder();
    const older = { ...first.last!, lastBatch: 0 };
    const second = await runAttempt({ runId, attempt: 2, heartbeatDetails: older, embedder });
    expect(embedder.calls()).toBe(second.result!.batches - 3);
    const third = countingEmbedder();
    await runAttempt({ runId, attempt: 3, embedder: third });
    expect(third.calls()).toBe(0);
  });

  it('from the start when the batches were cut under another plan', async () => {
    const runId = randomUUID();
    const first = await crashedFirstAttempt(runId);
    const embedder = countingEmbedder();
    const second = await runAttempt({ runId, attempt: 2, heartbeatDetails: { ...first.last!, plan: 'cut by another config' }, embedder });
    expect(embedder.calls()).toBe(second.result!.batches);
    expect(await draftOrdinals(runId)).toHaveLength(second.result!.chunks);
  });
});
