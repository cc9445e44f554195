/**
 * processDocument end to end on the file's own database and queues (issue 13): each format
 * reaches `completed` with vectors and searchable chunks; every failure path (unreadable
 * PDFs, a failing embedder, the time limit, a cancellation) ends `failed` with a reason and
 * no completion event; processing again replaces the chunks; an index step that commits
 * and then fails is retried without a duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { documents } from '../../activities/db/schema/index.js';
import { startProcessDocument } from '../../activities/documents/start.js';
import { storeDocument } from '../../activities/documents/store.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import type { Embedder } from '../../activities/llm/types.js';
import type { processDocument } from '../../workflows/index.js';
import { workflowIds, type ProcessDocumentInput } from '../../workflows/types.js';
import { seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  chunksOf, documentEvents, documentProgress, documentRow, reprocessDocument, searchOrdinals, seedCase, settledDocument, submitDocument,
  type Upload,
} from '../helpers/documents.js';
import { brokenPdf, encryptedPdf, imageOnlyPdf, textPdf } from '../helpers/pdf.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { ARTICLE_HTML } from '../fixtures/documents.js';

const DIMENSIONS = 64;
/** Small sizes, so a page of text makes several chunks and several batches. */
const SIZES = { chunkTokens: 64, chunkOverlapTokens: 8, embedBatchSize: 4 };

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let client: Client;
const queues = testQueues('documents');
let userId: string;
let caseId: string;
/** Documents whose index step commits, then throws once (a worker dying before it reports). */
const failAfterIndexCommit = new Set<string>();
const indexCalls = new Map<string, number>();
/** Run once inside a document's index step, after it committed and before it reports (the run is still open). */
const afterIndexCommit = new Map<string, () => Promise<void>>();
/** Outages aimed at one document: its named activity finds the database unreachable on its first `calls` calls, after `delayMs`. */
const outages = new Map<string, Map<string, { calls: number; delayMs?: number }>>();
const faults = { calls: new Map<string, number>(), commitThenThrowOnce: new Set<string>() };

async function outageOf(name: string, args: unknown[]): Promise<void> {
  const documentId = (args[0] as { documentId?: string } | undefined)?.documentId;
  const outage = documentId === undefined ? undefined : outages.get(documentId)?.get(name);
  if (!outage || outage.calls === 0) return;
  outage.calls -= 1;
  if (outage.delayMs) await new Promise((r) => setTimeout(r, outage.delayMs));
  throw ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
}

/** The local embedder, except for chunks that ask to fail or to hang until cancelled. */
function scriptedEmbedder(): Embedder {
  const local = createLocalEmbedder(DIMENSIONS);
  return {
    ...local,
    async embed(texts, call) {
      if (texts.some((t) => t.includes('EMBEDFAIL'))) throw ApplicationFailure.nonRetryable('the embeddings API refused the key', 'LlmAuthError');
      if (texts.some((t) => t.includes('EMBEDSLOW'))) {
        await new Promise((_, reject) => call?.signal?.addEventListener('abort', () => reject(new Error('embedding aborted'))));
      }
      return local.embed(texts, call);
    },
  };
}

const story = (topic: string, rare: string) =>
  Array.from({ length: 12 }, (_, i) => `${topic} paragraph ${i} explains how the bakery plans its ovens, flour and rent for next year.`)
    .join('\n\n')
    .concat(`\n\nOnly the last paragraph mentions the ${rare}.`);

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  client = env.client;
  userId = (await seedUser(database.db)).id;
  caseId = await seedCase(database.db, userId);
  workers = await startTestWorkers({
    env, db: database.db, queues, embedder: scriptedEmbedder(), documents: SIZES,
    wrapActivities: (acts) => withActivityFaults({
      ...acts,
      async indexDocumentChunks(req) {
        indexCalls.set(req.documentId, (indexCalls.get(req.documentId) ?? 0) + 1);
        const result = await acts.indexDocumentChunks(req);
        const hook = afterIndexCommit.get(req.documentId);
        afterIndexCommit.delete(req.documentId);
        await hook?.();
        if (failAfterIndexCommit.delete(req.documentId)) throw new Error('the worker died after the index committed');
        return result;
      },
    }, faults, outageOf),
  });
});

afterAll(async () => {
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

const owner = () => ({ db: database.db, client, queues, caseId, userId });
const submit = (upload: Upload, overrides?: Pick<ProcessDocumentInput, 'timeLimitMs'>) => submitDocument(owner(), upload, overrides);

async function expectCompleted(upload: Upload, words: { present: string[]; absent?: string[] }) {
  const { documentId, workflowId } = await submit(upload);
  const result = await client.workflow.getHandle<typeof processDocument>(workflowId).result();
  const doc = await documentRow(database.db, documentId);
  expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'completed', error: null });
  const stored = await chunksOf(database.db, documentId);
  expect(result).toMatchObject({ documentId, chunks: stored.length, characters: doc.charCount });
  expect(doc.chunkCount).toBe(stored.length);
  expect(stored.map((c) => c.ordinal)).toEqual(stored.map((_, i) => i));
  for (const c of stored) expect(c.embedding).toHaveLength(DIMENSIONS);
  for (const word of words.present) expect(await searchOrdinals(database.db, documentId, word), word).not.toEqual([]);
  for (const word of words.absent ?? []) expect(await searchOrdinals(database.db, documentId, word), word).toEqual([]);
  return { documentId, workflowId, doc, stored };
}

/** The run fails, the document says why, and nothing says it completed. */
async function expectFailed(upload: Upload, reason: string | RegExp, overrides?: Pick<ProcessDocumentInput, 'timeLimitMs'>) {
  const { documentId, workflowId } = await submit(upload, overrides);
  const err = await client.workflow.getHandle(workflowId).result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const doc = await settledDocument(database.db, documentId);
  expect(doc.processingStatus).toBe('failed');
  expect(doc.error).toMatch(reason);
  expect(await chunksOf(database.db, documentId)).toEqual([]);
  expect((await documentEvents(database.db, documentId)).map((e) => e.type)).toEqual([]);
  return { err: err as WorkflowFailedError, doc };
}

describe('processDocument: each format', () => {
  it('markdown: completed, with vectors, searchable chunks, progress and events', async () => {
    const content = `# Bakery plan\n\n${story('Markdown', 'quetzalcoatl')}`;
    const { documentId, workflowId, stored } = await expectCompleted(
      { title: 'plan.md', contentType: 'text/markdown', content },
      { present: ['quetzalcoatl', 'ovens flour'] },
    );
    expect(stored.length).toBeGreaterThan(SIZES.embedBatchSize);
    // The rare word is in the last chunk(s) only; overlap may repeat it once.
    expect((await searchOrdinals(database.db, documentId, 'quetzalcoatl')).every((o) => o >= stored.length - 2)).toBe(true);
    const progress = (await documentProgress(database.db, documentId)).map((p) => p.payload);
    const batches = Math.ceil(stored.length / SIZES.embedBatchSize);
    expect(progress[0]).toMatchObject({ step: 'extracted', pages: null, characters: content.length });
    expect(progress[1]).toEqual({ step: 'chunked', chunks: stored.length });
    expect(progress.slice(2, 2 + batches).map((p) => p.embedded)).toEqual(
      Array.from({ length: batches }, (_, b) => Math.min((b + 1) * SIZES.embedBatchSize, stored.length)),
    );
    expect(progress.at(-2)).toEqual({ step: 'indexed', chunks: stored.length });
    // The story's paragraphs state numbers: the upload gives its case evidence (test/workflows/document-evidence.test.ts).
    expect(progress.at(-1)).toEqual({ step: 'evidence', items: 5 });
    const evts = await documentEvents(database.db, documentId);
    expect(evts.map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
    expect(evts[0]!.payload).toMatchObject({ documentId, chunks: stored.length });
    expect(evts[0]!.payload.durationMs).toEqual(expect.any(Number));
    expect(evts.every((e) => e.workflowId === workflowId && e.runId)).toBe(true);
  });

  it('HTML: the article is indexed, its navigation, header, footer and scripts are not', async () => {
    await expectCompleted(
      { title: 'ovens.html', contentType: 'text/html', content: ARTICLE_HTML },
      { present: ['convection', 'rotating rack'], absent: ['quokka', 'wombat', 'narwhal', 'ocelot'] },
    );
  });

  it('PDF: two pages made with pdf-lib, read page by page', async () => {
    const pdf = await textPdf([story('First page', 'axolotl'), 'The second page is about zeppelins and their hangars.']);
    const { doc } = await expectCompleted({ title: 'two-pages.pdf', contentType: 'application/pdf', content: pdf }, { present: ['axolotl', 'zeppelin'] });
    expect(doc.pageCount).toBe(2);
  });

  it('plain text', async () => {
    await expectCompleted({ title: 'notes.txt', contentType: 'text/plain', content: story('Plain', 'capybara') }, { present: ['capybara'] });
  });
});

describe('processDocument: every failure path ends failed with a reason', () => {
  it('a broken, an image-only and an encrypted PDF', async () => {
    const cases: [Buffer, string][] = [
      [brokenPdf(), 'the PDF could not be read'],
      [await imageOnlyPdf(), 'no extractable text'],
      [await encryptedPdf(), 'the PDF is encrypted'],
    ];
    for (const [pdf, reason] of cases) {
      const { err } = await expectFailed({ title: `${reason}.pdf`, contentType: 'application/pdf', content: pdf }, reason);
      expect(err.cause).toMatchObject({ type: 'DocumentUnreadable', message: reason });
    }
  });

  it('a failing embedder', async () => {
    const { err } = await expectFailed(
      { title: 'refused.txt', contentType: 'text/plain', content: 'Every chunk of this says EMBEDFAIL.' },
      'embedding failed: the embeddings API refused the key',
    );
    expect(err.cause).toMatchObject({ type: 'LlmAuthError' });
  });

  it('the time limit (timeLimitMs), with the step still in flight', async () => {
    const { err } = await expectFailed(
      { title: 'slow.txt', contentType: 'text/plain', content: 'This one is EMBEDSLOW forever.' },
      'stopped: the time limit of 1.5 s was reached',
      { timeLimitMs: 1_500 },
    );
    expect(err.cause).toMatchObject({ type: 'TimeLimitExceeded' });
  });

  it('a cancellation of the run', async () => {
    const { documentId, workflowId } = await submit({ title: 'cancelled.txt', contentType: 'text/plain', content: 'Waiting, EMBEDSLOW.' });
    const handle = client.workflow.getHandle(workflowId);
    // Cancel once the embedding is in flight (its `chunked` row is written before the first call).
    await expect.poll(async () => (await documentProgress(database.db, documentId)).length, { timeout: 15_000 }).toBe(2);
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const doc = await settledDocument(database.db, documentId);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'failed', error: 'cancelled' });
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await documentEvents(database.db, documentId)).toEqual([]);
  });
});

describe('processDocument: idempotent writes', () => {
  it('processing again replaces the chunks in one go, with no duplicate and DOCUMENT_ADDED once', async () => {
    const first = await expectCompleted({ title: 'v1.txt', contentType: 'text/plain', content: story('Version one', 'okapi') }, { present: ['okapi'] });
    await database.db.update(documents).set({ content: story('Version two', 'pangolin').repeat(2) }).where(eq(documents.id, first.documentId));
    await client.workflow.getHandle(await reprocessDocument(owner(), first.documentId)).result();
    const stored = await chunksOf(database.db, first.documentId);
    expect(stored.length).toBeGreaterThan(first.stored.length);
    expect(stored.map((c) => c.ordinal)).toEqual(stored.map((_, i) => i));
    expect(await searchOrdinals(database.db, first.documentId, 'okapi')).toEqual([]);
    expect(await searchOrdinals(database.db, first.documentId, 'pangolin')).not.toEqual([]);
    expect((await documentRow(database.db, first.documentId)).chunkCount).toBe(stored.length);
    const types = (await documentEvents(database.db, first.documentId)).map((e) => e.type);
    expect(types).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED', 'WORKFLOW_COMPLETED']);
  });

  it('an index step that commits and then fails is retried without a duplicate chunk or event', async () => {
    const upload = { title: 'retry.txt', contentType: 'text/plain', content: story('Retried', 'tapir') };
    const { document } = await storeDocument(database.db, { caseId, userId, source: 'upload', ...upload });
    failAfterIndexCommit.add(document.id);
    const workflowId = workflowIds.document(document.id);
    await client.workflow.execute<typeof processDocument>('processDocument', {
      workflowId, taskQueue: queues.ingest, args: [{ documentId: document.id, caseId, userId, queues }],
    });
    expect(indexCalls.get(document.id)).toBe(2);
    const stored = await chunksOf(database.db, document.id);
    expect(stored.map((c) => c.ordinal)).toEqual(stored.map((_, i) => i));
    expect((await documentEvents(database.db, document.id)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
    expect((await documentRow(database.db, document.id)).processingStatus).toBe('completed');
  }, 60_000);
});

describe('processDocument: processing a document again', () => {
  const runsOf = async (workflowId: string) => {
    const runs = [];
    for await (const r of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(r.runId);
    return runs;
  };

  it('a start repeated after its run ended finds the document taken and does nothing', async () => {
    const { documentId, workflowId, stored } = await expectCompleted(
      { title: 'once.txt', contentType: 'text/plain', content: story('Once', 'numbat') }, { present: ['numbat'] },
    );
    const progressBefore = await documentProgress(database.db, documentId);
    const input: ProcessDocumentInput = { documentId, caseId, userId, queues };
    await startProcessDocument(client, input, { deadline: Date.now() + 10_000 });
    expect(await client.workflow.getHandle(workflowId).result()).toEqual({ documentId, skipped: 'completed' });
    expect(await chunksOf(database.db, documentId)).toEqual(stored);
    expect(await documentProgress(database.db, documentId)).toEqual(progressBefore);
    expect((await documentEvents(database.db, documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
  });

  it('a reprocess that meets the run as it closes is served by the next run, not lost', async () => {
    const upload = { title: 'closing.txt', contentType: 'text/plain', content: story('Closing', 'quoll') };
    const { document } = await storeDocument(database.db, { caseId, userId, source: 'upload', ...upload });
    // The document is completed, its run not yet closed: the reprocess's signal reaches that run.
    afterIndexCommit.set(document.id, async () => void (await reprocessDocument(owner(), document.id)));
    const workflowId = await startProcessDocument(client, { documentId: document.id, caseId, userId, queues }, { deadline: Date.now() + 10_000 });
    await client.workflow.getHandle(workflowId).result();
    const doc = await documentRow(database.db, document.id);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'completed', error: null });
    const events = await documentEvents(database.db, document.id);
    expect(events.map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED', 'WORKFLOW_COMPLETED']);
    expect(new Set(events.filter((e) => e.type === 'WORKFLOW_COMPLETED').map((e) => e.runId)).size).toBe(2);
    expect(await runsOf(workflowId)).toHaveLength(2);
  });
});

describe('processDocument: an unreachable database holds the step (Decision 28)', () => {
  /** Short, so the test waits seconds; the second outage below starts after it has passed. */
  const HOLD_MS = 2_000;

  async function startWithOutages(upload: Upload, plan: Record<string, { calls: number; delayMs?: number }>) {
    const { document } = await storeDocument(database.db, { caseId, userId, source: 'upload', ...upload });
    outages.set(document.id, new Map(Object.entries(plan)));
    const workflowId = await startProcessDocument(client, { documentId: document.id, caseId, userId, queues }, {
      deadline: Date.now() + 10_000, overrides: { outageHoldMs: HOLD_MS },
    });
    return { documentId: document.id, handle: client.workflow.getHandle<typeof processDocument>(workflowId) };
  }

  it('gives each outage its own window: two short outages further apart than the hold complete the document', async () => {
    const { documentId, handle } = await startWithOutages(
      { title: 'two-outages.txt', contentType: 'text/plain', content: story('Outages', 'wallaby') },
      // The first at once; the second begins more than HOLD_MS after the first (1 s held, then 2.2 s).
      { extractDocumentText: { calls: 1 }, embedDocumentChunks: { calls: 1, delayMs: 2_200 } },
    );
    await handle.result();
    const doc = await documentRow(database.db, documentId);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'completed', error: null });
    expect((await documentEvents(database.db, documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
  }, 30_000);

  it('fails the document with the reason once one outage outlasts its window; reprocessed, it completes', async () => {
    const { documentId, handle } = await startWithOutages(
      { title: 'long-outage.txt', contentType: 'text/plain', content: story('Outage', 'dingo') },
      { embedDocumentChunks: { calls: 100 } },
    );
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const doc = await settledDocument(database.db, documentId);
    expect({ status: doc.processingStatus, error: doc.error }).toEqual({ status: 'failed', error: 'the database was unreachable for 2 s' });
    // The outage is over: processing it again is a new run of the same id, and it completes.
    outages.delete(documentId);
    await client.workflow.getHandle(await reprocessDocument(owner(), documentId)).result();
    expect(await searchOrdinals(database.db, documentId, 'dingo')).not.toEqual([]);
    expect((await documentEvents(database.db, documentId)).map((e) => e.type)).toEqual(['WORKFLOW_COMPLETED', 'DOCUMENT_ADDED']);
  }, 30_000);
});
