/**
 * Issue 16: a worker's event loop is never held by input. A document's parse runs in the
 * parse pool's threads: while one is held on purpose (the `parseDelayMs` test hook, a busy
 * wait in the thread), a chat turn sent to the same worker is answered, and the document is
 * still processing when the reply is stored. A parse past `DOCUMENT_PARSE_DEADLINE_MS` ends
 * the document `failed` with a readable reason.
 */
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INLINE_MAX_CHARS } from '../../activities/parse/pool.js';
import { eventually, seedThread, seedUser, sendMessage, waitForAnswer } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { documentProgress, documentRow, seedCase, settledDocument, submitDocument } from '../helpers/documents.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';

/** How long every parse in a thread is held: far longer than a chat turn takes. */
const HOLD_MS = 12_000;
const SIZES = { chunkTokens: 512, chunkOverlapTokens: 64, embedBatchSize: 64 };

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let client: Client;
let held: RunningWorkers;
let strict: RunningWorkers;
const heldQueues = testQueues('parse-held');
const strictQueues = testQueues('parse-deadline');
let userId: string;
let caseId: string;

/** Larger than what runs inline, so it goes to a thread. */
const largeText = Array.from({ length: Math.ceil((2 * INLINE_MAX_CHARS) / 50) }, (_, i) => `Paragraph ${i} is about the bakery's ovens and its rye.`).join('\n\n');

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  client = env.client;
  userId = (await seedUser(database.db)).id;
  caseId = await seedCase(database.db, userId);
  [held, strict] = await Promise.all([
    startTestWorkers({ env, db: database.db, queues: heldQueues, documents: { ...SIZES, parseDelayMs: HOLD_MS } }),
    startTestWorkers({ env, db: database.db, queues: strictQueues, documents: { ...SIZES, parseDeadlineMs: 1_000, parseDelayMs: 60_000 } }),
  ]);
});

afterAll(async () => {
  await Promise.all([held?.stop(), strict?.stop()]);
  await env?.teardown();
  await database?.drop();
});

describe('the parse pool in a worker', () => {
  it('answers a chat turn while a document parse holds a thread of the same worker', async () => {
    const { documentId } = await submitDocument({ db: database.db, client, queues: heldQueues, caseId, userId }, {
      title: 'large.txt', contentType: 'text/plain', content: largeText,
    });
    await eventually(() => documentRow(database.db, documentId), (d) => d.processingStatus === 'processing');
    const thread = await seedThread(database.db, userId);
    const sentAt = performance.now();
    const message = await sendMessage({ db: database.db, client, queues: heldQueues, threadId: thread.id, userId }, 'How are the ovens?');
    const { reply } = await waitForAnswer(database.db, thread.id, message.id, HOLD_MS);
    const answeredInMs = performance.now() - sentAt;
    expect(reply?.status).toBe('complete');
    // The parse is still held: the document has not even been extracted.
    expect((await documentRow(database.db, documentId)).processingStatus).toBe('processing');
    expect(await documentProgress(database.db, documentId)).toEqual([]);
    console.log(`[parse-pool] chat turn answered in ${answeredInMs.toFixed(0)} ms while a parse held its thread for ${HOLD_MS} ms`);
    // Then the document completes: extraction and chunking, each held once.
    const doc = await settledDocument(database.db, documentId, 4 * HOLD_MS);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'completed', error: null });
  }, 6 * HOLD_MS);

  it('ends a document failed, with the reason, when its parse runs past the deadline', async () => {
    const { documentId, workflowId } = await submitDocument({ db: database.db, client, queues: strictQueues, caseId, userId }, {
      title: 'slow.txt', contentType: 'text/plain', content: largeText,
    });
    await expect(client.workflow.getHandle(workflowId).result()).rejects.toThrow();
    const doc = await settledDocument(database.db, documentId);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'failed', error: 'the document took longer than 1 s to read' });
  }, 60_000);
});
