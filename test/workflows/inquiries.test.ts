/**
 * The Phase 2B inquiries through the gateway and a worker, on the `local` provider and the case
 * corpus: each kind stores its document (source `inquiry`, linked to its version), makes it
 * searchable (never evidence), and emits RESEARCH_COMPLETED, DOCUMENT_ADDED and
 * WORKFLOW_COMPLETED exactly once each under its own workflow id with the inquiry and document
 * ids (the document's own processing adds none); the debate has its two sides and what would
 * settle it, the critique its weak claims; a failed write marks its version failed; every
 * write survives an activity that commits and then fails once; a kind started again while it
 * runs is the same run, after it closed a new version; the routes page, keep an
 * Idempotency-Key's answer, answer another user's ids 404 and list each kind's versions.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documents, events, evidence, inquiries, inquiryDocuments } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { ApplicationFailure } from '@temporalio/common';
import type { InquiryResult } from '../../workflows/types.js';
import { call, startApi, type ApiHarness, type TestUser } from '../api/harness.js';
import { withActivityFaults, type ActivityFaults } from '../helpers/activity-faults.js';
import { seedDocument, TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';

const PASSAGES = [
  'Rents for bakery premises near Leeds station averaged 3500 pounds a month in March 2025, according to the letting agent.',
  'A deck oven for a small bakery costs about 18000 pounds to buy, while leasing one costs 450 pounds a month over five years.',
  'Leasing an oven is not cheaper over ten years, however, because the lease payments never stop.',
];
const QUESTION = 'Should the bakery lease or buy its deck oven?';

/** Questions whose document the model refuses to write, for good. */
const BREAK = 'break the writer';
const local = createLocalLlm();
const llm: Llm = {
  ...local,
  async synthesizeResearch(input, c) {
    if (input.topic.includes(BREAK)) throw ApplicationFailure.nonRetryable('the model refused to write', 'LlmOutputInvalid');
    return local.synthesizeResearch(input, c);
  },
};

let h: ApiHarness;
let workers: RunningWorkers;
const faults: ActivityFaults = { calls: new Map(), commitThenThrowOnce: new Set() };
/** Inquiries whose claim waits a little: a second start lands while the first run is open. */
const slow = new Set<string>();

beforeAll(async () => {
  h = await startApi();
  workers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: h.queues, llm, embedder: createLocalEmbedder(TEST_DIMENSIONS),
    wrapActivities: (acts) => withActivityFaults(acts, faults, async (name, args) => {
      const inquiryId = (args[0] as { inquiryId?: string } | undefined)?.inquiryId;
      if (name === 'claimInquiryVersion' && inquiryId && slow.has(inquiryId)) await new Promise((r) => setTimeout(r, 1_500));
    }),
  });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

const post = (user: TestUser, url: string, payload?: unknown) => call(h.app, user, { method: 'POST', url, ...(payload ? { payload } : {}) });
const get = (user: TestUser, url: string) => call(h.app, user, { method: 'GET', url });

async function caseWithCorpus(user: TestUser = h.alice): Promise<string> {
  const caseId = (await post(user, '/v1/cases', { title: 'A second bakery in Leeds' })).json().id as string;
  await seedDocument(h.database.db, { caseId, userId: user.id, title: 'Oven notes' }, PASSAGES);
  return caseId;
}

async function inquiry(caseId: string, question = QUESTION, user: TestUser = h.alice): Promise<string> {
  const res = await post(user, `/v1/cases/${caseId}/inquiries`, { question });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json()).toMatchObject({ caseId, question });
  return res.json().id as string;
}

async function run(inquiryId: string, kind: string): Promise<{ workflowId: string; result: InquiryResult }> {
  const res = await post(h.alice, `/v1/inquiries/${inquiryId}/${kind}`);
  expect(res.statusCode, res.body).toBe(202);
  const { workflowId } = res.json() as { workflowId: string };
  expect(workflowId).toBe(`inquiry-${kind}-${inquiryId}`);
  return { workflowId, result: await h.env.client.workflow.getHandle(workflowId).result() };
}

/** The three events of one version, each exactly once, under the inquiry's workflow id, with its ids. */
async function expectEventsOnce(workflowId: string, result: InquiryResult) {
  const mine = await h.database.db.select().from(events).where(eq(events.workflowId, workflowId));
  const ofVersion = mine.filter((e) => (e.payload as { version?: number }).version === result.version);
  expect(ofVersion.map((e) => e.type).sort()).toEqual(['DOCUMENT_ADDED', 'RESEARCH_COMPLETED', 'WORKFLOW_COMPLETED']);
  for (const e of ofVersion) {
    expect(e.payload).toMatchObject({ inquiryId: result.inquiryId, kind: result.kind, version: result.version, documentId: result.documentId });
    expect(e.documentId).toBe(result.documentId);
  }
  // The document's own processing emits its WORKFLOW_COMPLETED (under document-<id>) but no DOCUMENT_ADDED.
  const added = await h.database.db.select().from(events).where(and(eq(events.type, 'DOCUMENT_ADDED'), eq(events.documentId, result.documentId)));
  expect(added.map((e) => e.workflowId)).toEqual([workflowId]);
}

/** Stored, completed, linked to its version, searchable, and no evidence of it. */
async function expectSearchableDocument(caseId: string, result: InquiryResult, words: string) {
  const [doc] = await h.database.db.select().from(documents).where(eq(documents.id, result.documentId));
  expect(doc).toMatchObject({ caseId, userId: h.alice.id, source: 'inquiry', processingStatus: 'completed', contentType: 'text/markdown' });
  expect(doc!.chunkCount).toBeGreaterThan(0);
  const [link] = await h.database.db.select().from(inquiryDocuments)
    .where(and(eq(inquiryDocuments.inquiryId, result.inquiryId), eq(inquiryDocuments.kind, result.kind), eq(inquiryDocuments.version, result.version)));
  expect(link).toMatchObject({ documentId: result.documentId, status: 'completed' });
  const search = await get(h.alice, `/v1/cases/${caseId}/search?q=${encodeURIComponent(words)}&kind=chunk`);
  expect(search.statusCode, search.body).toBe(200);
  expect(search.json().passages.some((p: { documentId: string }) => p.documentId === result.documentId)).toBe(true);
  expect(await h.database.db.select().from(evidence).where(eq(evidence.documentId, result.documentId))).toEqual([]);
  return doc!;
}

describe('inquiry workflows', () => {
  it('research: a grounded document, searchable, its three events once', async () => {
    const caseId = await caseWithCorpus();
    const inquiryId = await inquiry(caseId);
    const { workflowId, result } = await run(inquiryId, 'research');
    expect(result).toMatchObject({ inquiryId, kind: 'research', version: 1 });
    expect(result.citations).toBeGreaterThan(0);
    const doc = await expectSearchableDocument(caseId, result, 'deck oven leasing');
    // Grounded: it quotes the corpus.
    expect(doc.content).toContain('450 pounds a month');
    await expectEventsOnce(workflowId, result);
  });

  it('debate: two sides with their evidence and what would settle it', async () => {
    const caseId = await caseWithCorpus();
    const { workflowId, result } = await run(await inquiry(caseId), 'debate');
    const doc = await expectSearchableDocument(caseId, result, 'settle');
    expect(doc.content).toMatch(/## For[\s\S]*\[\d+\][\s\S]*## Against[\s\S]*never stop[\s\S]*## What would settle it/);
    await expectEventsOnce(workflowId, result);
  });

  it('critique: its claims, the weak ones and the missing counter-evidence', async () => {
    const caseId = await caseWithCorpus();
    const { workflowId, result } = await run(await inquiry(caseId), 'critique');
    const doc = await expectSearchableDocument(caseId, result, 'critique');
    expect(doc.content).toMatch(/## Claims and their support[\s\S]*## Weak or unsupported[\s\S]*## Missing counter-evidence/);
    await expectEventsOnce(workflowId, result);
  });

  it('a step that commits then fails once stores nothing twice and emits each event once', async () => {
    const caseId = await caseWithCorpus();
    const inquiryId = await inquiry(caseId);
    for (const name of ['claimInquiryVersion', 'writeInquiryDocument', 'finishInquiryDocument']) faults.commitThenThrowOnce.add(name);
    const { workflowId, result } = await run(inquiryId, 'debate');
    expect(faults.commitThenThrowOnce.size, 'every injected failure happened').toBe(0);
    expect(result.version).toBe(1);
    // The retried write reports what the committed one counted.
    expect(result.citations).toBeGreaterThan(0);
    await expectSearchableDocument(caseId, result, 'oven');
    const docs = await h.database.db.select({ id: documents.id }).from(documents).where(and(eq(documents.caseId, caseId), eq(documents.source, 'inquiry')));
    expect(docs).toHaveLength(1);
    expect(await h.database.db.select().from(inquiryDocuments).where(eq(inquiryDocuments.inquiryId, inquiryId))).toHaveLength(1);
    await expectEventsOnce(workflowId, result);
  }, 60_000);

  it('a start while the kind runs joins it; after it closed a new version, both listed', async () => {
    const caseId = await caseWithCorpus();
    const inquiryId = await inquiry(caseId);
    slow.add(inquiryId);
    const first = await post(h.alice, `/v1/inquiries/${inquiryId}/research`);
    const again = await post(h.alice, `/v1/inquiries/${inquiryId}/research`);
    expect([first.statusCode, again.statusCode]).toEqual([202, 202]);
    expect(again.json().workflowId).toBe(first.json().workflowId);
    const handle = h.env.client.workflow.getHandle(first.json().workflowId);
    const one: InquiryResult = await handle.result();
    expect(one.version).toBe(1);
    slow.delete(inquiryId);
    const { workflowId, result: two } = await run(inquiryId, 'research');
    expect(two.version).toBe(2);
    expect(two.documentId).not.toBe(one.documentId);
    await expectEventsOnce(workflowId, one);
    await expectEventsOnce(workflowId, two);
    await run(inquiryId, 'critique');

    const read = await get(h.alice, `/v1/inquiries/${inquiryId}`);
    expect(read.statusCode, read.body).toBe(200);
    const body = read.json();
    expect(body).toMatchObject({ id: inquiryId, caseId, question: QUESTION });
    expect(body.documents.research.map((v: { version: number; documentId: string; status: string; processingStatus: string }) => [v.version, v.documentId, v.status, v.processingStatus]))
      .toEqual([[1, one.documentId, 'completed', 'completed'], [2, two.documentId, 'completed', 'completed']]);
    expect(body.documents.critique).toHaveLength(1);
    expect(body.documents.debate).toEqual([]);
  }, 60_000);

  it('a failed write marks its version failed with the step and emits nothing', async () => {
    const caseId = await caseWithCorpus();
    const inquiryId = await inquiry(caseId, `Should we ${BREAK} on the deck oven?`);
    const res = await post(h.alice, `/v1/inquiries/${inquiryId}/critique`);
    await expect(h.env.client.workflow.getHandle(res.json().workflowId).result()).rejects.toThrow();
    const body = (await get(h.alice, `/v1/inquiries/${inquiryId}`)).json();
    expect(body.documents.critique).toMatchObject([{ version: 1, status: 'failed', documentId: null, error: expect.stringContaining('write') }]);
    expect(await h.database.db.select().from(events).where(eq(events.workflowId, res.json().workflowId))).toEqual([]);
    expect(await h.database.db.select().from(documents).where(and(eq(documents.caseId, caseId), eq(documents.source, 'inquiry')))).toEqual([]);
  });

  it('a case with nothing to read: the document says so', async () => {
    const caseId = (await post(h.alice, '/v1/cases', { title: 'empty' })).json().id as string;
    const { result } = await run(await inquiry(caseId), 'research');
    const [doc] = await h.database.db.select().from(documents).where(eq(documents.id, result.documentId));
    expect(doc!.content).toContain('no documents or evidence');
    expect(result.citations).toBe(0);
  });
});

describe('inquiry routes', () => {
  it('pages a case\'s inquiries newest first', async () => {
    const caseId = (await post(h.alice, '/v1/cases', { title: 'paged inquiries' })).json().id as string;
    const ids = [];
    for (const q of ['one?', 'two?', 'three?']) ids.push(await inquiry(caseId, q));
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await get(h.alice, `/v1/cases/${caseId}/inquiries?limit=2${after ? `&after=${after}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      seen.push(...res.json().inquiries.map((i: { id: string }) => i.id));
      after = res.json().nextAfter;
    } while (after);
    expect(seen).toEqual([...ids].reverse());
    const bad = await get(h.alice, `/v1/cases/${caseId}/inquiries?after=bm90LWEtY3Vyc29y`);
    expect(bad.statusCode).toBe(400);
  });

  it('another user\'s case and inquiry are 404, and nothing starts', async () => {
    const caseId = (await post(h.alice, '/v1/cases', { title: 'private' })).json().id as string;
    const inquiryId = await inquiry(caseId);
    expect((await post(h.bob, `/v1/cases/${caseId}/inquiries`, { question: 'mine?' })).statusCode).toBe(404);
    expect((await get(h.bob, `/v1/cases/${caseId}/inquiries`)).statusCode).toBe(404);
    expect((await get(h.bob, `/v1/inquiries/${inquiryId}`)).statusCode).toBe(404);
    for (const kind of ['research', 'debate', 'critique']) expect((await post(h.bob, `/v1/inquiries/${inquiryId}/${kind}`)).statusCode).toBe(404);
    expect(await h.database.db.select().from(inquiryDocuments).where(eq(inquiryDocuments.inquiryId, inquiryId))).toEqual([]);
  });

  it('an Idempotency-Key makes one inquiry of a repeated create, and one run of a repeated start', async () => {
    const caseId = await caseWithCorpus();
    const headers = { 'idempotency-key': `inquiry-${randomUUID()}` };
    const create = () => call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/inquiries`, payload: { question: QUESTION }, headers });
    const [a, b] = [await create(), await create()];
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(b.json().id).toBe(a.json().id);
    expect(await h.database.db.select().from(inquiries).where(eq(inquiries.caseId, caseId))).toHaveLength(1);
    const startHeaders = { 'idempotency-key': `inquiry-start-${randomUUID()}` };
    const start = () => call(h.app, h.alice, { method: 'POST', url: `/v1/inquiries/${a.json().id}/debate`, headers: startHeaders });
    const first = await start();
    expect(first.statusCode, first.body).toBe(202);
    await h.env.client.workflow.getHandle(first.json().workflowId).result();
    // Closed by now: without the key this would be a new version; with it, the first answer.
    const again = await start();
    expect(again.json()).toEqual(first.json());
    expect(await h.database.db.select().from(inquiryDocuments).where(eq(inquiryDocuments.inquiryId, a.json().id))).toHaveLength(1);
  });

  it('a blank or overlong question is a 400 naming it', async () => {
    const caseId = (await post(h.alice, '/v1/cases', { title: 'bounds' })).json().id as string;
    for (const question of ['   ', 'x'.repeat(2_001)]) {
      const res = await post(h.alice, `/v1/cases/${caseId}/inquiries`, { question });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('question');
    }
  });
});
