/**
 * The documents routes (issue 13; Decision 26): an upload is stored pending and its run
 * started (202); what we cannot read is a 400 naming the field; the same upload again is a
 * 200 that starts nothing; other people's cases and documents are 404s; and the hand-off
 * keeps chat's rule: a start that certainly failed fails the document, an uncertain one
 * leaves it pending and still answers 202.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documents } from '../../activities/db/schema/index.js';
import { storeDocument } from '../../activities/documents/store.js';
import { DOCUMENT_START_FAILED as START_FAILED } from '../../activities/documents/start.js';
import { caseIdKey, userIdKey } from '../../workflows/search-attributes.js';
import { textPdf } from '../helpers/pdf.js';
import { eventually } from '../helpers/chat.js';
import { channelShutDown, deadlineExceeded } from './fake-temporal.js';
import { call, insertCase, startApi, type ApiHarness, type TestUser } from './harness.js';

let h: ApiHarness;
let caseId: string;
/** A gateway whose documents may be at most this large, decoded. */
const SMALL_MAX_BYTES = 1_000;

beforeAll(async () => {
  h = await startApi();
  caseId = await insertCase(h.database, h.alice.id);
});

afterAll(async () => {
  // No worker serves these queues: stop the runs the tests started.
  for await (const run of h.env.client.workflow.list({ query: `TaskQueue = "${h.queues.ingest}" AND ExecutionStatus = "Running"` })) {
    await h.env.client.workflow.getHandle(run.workflowId).terminate('test over').catch(() => undefined);
  }
  await h?.close();
});

const upload = (user: TestUser, payload: object, app = h.app, target = caseId) =>
  call(app, user, { method: 'POST', url: `/v1/cases/${target}/documents`, payload });
const markdown = (title = `notes-${randomUUID()}.md`) => ({ title, contentType: 'text/markdown', content: '# Plan\n\nWe open in spring.' });
const runsOf = async (workflowId: string) => {
  const runs = [];
  for await (const run of h.env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(run.runId);
  return runs;
};
/** Visibility is eventually consistent: a run just started may take a moment to be listed. */
const listedRunsOf = (workflowId: string, count: number) => eventually(() => runsOf(workflowId), (runs) => runs.length >= count, 10_000);

describe('POST /v1/cases/:caseId/documents', () => {
  it('stores the upload pending and starts document-<id> on the ingest queue, tagged with the case and user', async () => {
    const res = await upload(h.alice, markdown());
    expect(res.statusCode, res.body).toBe(202);
    const { document, workflowId } = res.json();
    expect(document).toMatchObject({ caseId, source: 'upload', contentType: 'text/markdown', processingStatus: 'pending', chunkCount: 0, error: null });
    expect(workflowId).toBe(`document-${document.id}`);
    const described = await h.env.client.workflow.getHandle(workflowId).describe();
    expect(described.taskQueue).toBe(h.queues.ingest);
    expect([described.typedSearchAttributes.get(caseIdKey), described.typedSearchAttributes.get(userIdKey)]).toEqual([caseId, h.alice.id]);
  });

  it('takes a PDF as base64 (line breaks allowed) and stores its bytes', async () => {
    const pdf = await textPdf(['A page.']);
    const wrapped = pdf.toString('base64').replace(/.{76}/g, '$&\n');
    const res = await upload(h.alice, { title: 'a.pdf', contentType: 'application/pdf; name=a.pdf', content: wrapped });
    expect(res.statusCode, res.body).toBe(202);
    const [row] = await h.database.db.select().from(documents).where(eq(documents.id, res.json().document.id));
    expect(row?.contentBytes?.equals(pdf)).toBe(true);
    expect(row?.contentType).toBe('application/pdf');
  });

  it('answers 400 naming the field for a type we do not read, content that is not its type, and a missing title', async () => {
    const small = await h.buildSibling({ config: { documents: { maxBytes: SMALL_MAX_BYTES } } });
    const cases: [object, string, RegExp, typeof h.app?][] = [
      [{ ...markdown(), contentType: 'image/png' }, 'contentType', /must be one of text\/plain/],
      [{ title: 'x.pdf', contentType: 'application/pdf', content: 'not base64!' }, 'content', /not valid base64/],
      [{ title: 'x.pdf', contentType: 'application/pdf', content: Buffer.from('GIF89a not a pdf').toString('base64') }, 'content', /not a PDF/],
      [{ ...markdown(), content: 'x'.repeat(SMALL_MAX_BYTES + 1) }, 'content', /larger than DOCUMENT_MAX_BYTES \(1000 bytes\)/, small],
      [{ title: 'x.pdf', contentType: 'application/pdf', content: Buffer.alloc(SMALL_MAX_BYTES + 3, '%PDF-').toString('base64') }, 'content', /decoded/, small],
      [{ contentType: 'text/plain', content: 'hi' }, 'title', /required/],
      [{ ...markdown(), title: '   ' }, 'title', /empty/],
      [{ ...markdown(), extra: 1 }, 'extra', /not allowed/],
    ];
    for (const [payload, field, message, app] of cases) {
      const res = await upload(h.alice, payload, app);
      expect({ status: res.statusCode, field: res.json().field }, JSON.stringify(payload).slice(0, 80)).toEqual({ status: 400, field });
      expect(res.json().message).toMatch(message);
    }
  });

  it('fits the base64 of DOCUMENT_MAX_BYTES in its body limit, and no more', async () => {
    const small = await h.buildSibling({ config: { documents: { maxBytes: SMALL_MAX_BYTES } } });
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(SMALL_MAX_BYTES - 9, 'a')]);
    const fits = await upload(h.alice, { title: 'max.pdf', contentType: 'application/pdf', content: pdf.toString('base64') }, small);
    expect(fits.statusCode, fits.body).toBe(202);
    const huge = await upload(h.alice, { ...markdown(), content: 'x'.repeat(64 * 1024) }, small);
    expect(huge.statusCode).toBe(413);
  });

  it('answers a duplicate upload 200 with the existing document and its workflow id, starting nothing', async () => {
    const body = markdown('the-same.md');
    const first = await upload(h.alice, body);
    expect(first.statusCode).toBe(202);
    const again = await upload(h.alice, body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await runsOf(first.json().workflowId)).toHaveLength(1);
    // Another title is another document.
    expect((await upload(h.alice, { ...body, title: 'another.md' })).statusCode).toBe(202);
  });

  it('answers 404 for a case that is not the caller’s, or none', async () => {
    const bobsCase = await insertCase(h.database, h.bob.id);
    expect((await upload(h.alice, markdown(), h.app, bobsCase)).statusCode).toBe(404);
    expect((await upload(h.alice, markdown(), h.app, randomUUID())).statusCode).toBe(404);
    expect((await upload(h.alice, markdown(), h.app, 'nope')).json()).toMatchObject({ statusCode: 400, field: 'caseId' });
  });
});

/** A client whose signal-with-start (the hand-off) fails with `failure`, after landing for real when `lands`. */
function failingStarts(real: Client, failure: () => Error, lands: boolean): Client {
  const signalWithStart: Client['workflow']['signalWithStart'] = async (...args) => {
    if (lands) await real.workflow.signalWithStart(...args);
    throw failure();
  };
  return { withDeadline: real.withDeadline.bind(real), workflow: { signalWithStart } } as unknown as Client;
}

describe('the hand-off', () => {
  it('fails the document on a start that certainly failed (503), and a re-upload starts it', async () => {
    const closed = await h.buildSibling({ temporal: failingStarts(h.env.client, channelShutDown, false) });
    const body = markdown();
    const res = await upload(h.alice, body, closed);
    expect(res.statusCode).toBe(503);
    const [row] = await h.database.db.select().from(documents).where(eq(documents.title, body.title));
    expect({ status: row?.processingStatus, error: row?.error }).toEqual({ status: 'failed', error: START_FAILED });
    const retried = await upload(h.alice, body);
    expect(retried.statusCode).toBe(202);
    expect(retried.json().document).toMatchObject({ id: row!.id, processingStatus: 'pending', error: null });
    expect(await listedRunsOf(retried.json().workflowId, 1)).toHaveLength(1);
  });

  it('leaves the document pending and answers 202 when the start may have happened', async () => {
    for (const lands of [true, false]) {
      const uncertain = await h.buildSibling({ temporal: failingStarts(h.env.client, deadlineExceeded, lands) });
      const res = await upload(h.alice, markdown(), uncertain);
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().document.processingStatus).toBe('pending');
      expect(await runsOf(res.json().workflowId)).toHaveLength(lands ? 1 : 0);
      // The same upload later hands it over again: the run that landed is found, a missing one is started.
      const again = await upload(h.alice, { title: res.json().document.title, contentType: 'text/markdown', content: markdown().content });
      expect(again.statusCode).toBe(200);
      expect(await listedRunsOf(res.json().workflowId, 1)).toHaveLength(1);
    }
  });
});

describe('processing a document again', () => {
  const reprocess = (user: TestUser, documentId: string, headers: Record<string, string> = {}) =>
    call(h.app, user, { method: 'POST', url: `/v1/documents/${documentId}/reprocess`, headers });
  const setStatus = (documentId: string, processingStatus: 'completed' | 'failed', error: string | null = null) =>
    h.database.db.update(documents).set({ processingStatus, error }).where(eq(documents.id, documentId));
  /** No worker serves these queues: a run stays open until the test ends it, as if it had closed. */
  const endRun = (workflowId: string) => h.env.client.workflow.getHandle(workflowId).terminate('ended by the test');
  const statusOf = async (documentId: string) =>
    (await h.database.db.select({ status: documents.processingStatus }).from(documents).where(eq(documents.id, documentId)))[0]?.status;

  it('reprocess: 202 with document-<id> for a completed or failed document, a new run; 409 while one is open', async () => {
    const { document, workflowId } = (await upload(h.alice, markdown())).json();
    expect((await reprocess(h.alice, document.id)).statusCode).toBe(409);
    for (const [ended, runs] of [['completed', 2], ['failed', 3]] as const) {
      await endRun(workflowId);
      await setStatus(document.id, ended, ended === 'failed' ? 'embedding failed: the service was down' : null);
      const res = await reprocess(h.alice, document.id);
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toEqual({ workflowId });
      expect(await statusOf(document.id)).toBe('pending');
      expect(await listedRunsOf(workflowId, runs)).toHaveLength(runs);
      const again = await reprocess(h.alice, document.id);
      expect({ status: again.statusCode, code: again.json().code }).toEqual({ status: 409, code: 'CONFLICT' });
    }
  });

  it('reprocess: two concurrent calls start one run', async () => {
    const { document, workflowId } = (await upload(h.alice, markdown())).json();
    await endRun(workflowId);
    await setStatus(document.id, 'completed');
    const answers = await Promise.all([reprocess(h.alice, document.id), reprocess(h.alice, document.id)]);
    expect(answers.map((a) => a.statusCode)).toContain(202);
    for (const a of answers) expect([202, 409]).toContain(a.statusCode);
    await listedRunsOf(workflowId, 2);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await runsOf(workflowId)).toHaveLength(2);
  });

  it('reprocess: hands over a pending document whose start was lost', async () => {
    const { document } = await storeDocument(h.database.db, { caseId, userId: h.alice.id, source: 'upload', title: `lost-${randomUUID()}.md`, contentType: 'text/markdown', content: '# Lost' });
    const res = await reprocess(h.alice, document.id);
    expect(res.statusCode, res.body).toBe(202);
    expect(await listedRunsOf(res.json().workflowId, 1)).toHaveLength(1);
  });

  it('reprocess: an Idempotency-Key repeated answers as the first call did', async () => {
    const { document, workflowId } = (await upload(h.alice, markdown())).json();
    await endRun(workflowId);
    await setStatus(document.id, 'failed', 'no extractable text');
    const key = { 'idempotency-key': `reprocess-${randomUUID()}` };
    const first = await reprocess(h.alice, document.id, key);
    const second = await reprocess(h.alice, document.id, key);
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    expect(second.json()).toEqual(first.json());
    expect(await listedRunsOf(workflowId, 2)).toHaveLength(2);
  });

  it('reprocess: 404 for a document that is not the caller’s, or none', async () => {
    const { document } = (await upload(h.alice, markdown())).json();
    expect((await reprocess(h.bob, document.id)).statusCode).toBe(404);
    expect((await reprocess(h.alice, randomUUID())).statusCode).toBe(404);
    expect((await reprocess(h.alice, 'nope')).json()).toMatchObject({ statusCode: 400, field: 'documentId' });
  });

  it('a re-upload of a failed document (whatever failed it) starts it again; of a completed one, nothing', async () => {
    const body = markdown();
    const { document, workflowId } = (await upload(h.alice, body)).json();
    await endRun(workflowId);
    await setStatus(document.id, 'failed', 'embedding failed: the service was down');
    const retried = await upload(h.alice, body);
    expect(retried.statusCode, retried.body).toBe(202);
    expect(retried.json().document).toMatchObject({ id: document.id, processingStatus: 'pending', error: null });
    expect(await listedRunsOf(workflowId, 2)).toHaveLength(2);
    await endRun(workflowId);
    await setStatus(document.id, 'completed');
    expect((await upload(h.alice, body)).statusCode).toBe(200);
    expect(await statusOf(document.id)).toBe('completed');
  });
});

describe('GET /v1/documents/:documentId', () => {
  it('shows the caller’s document with its status, chunk count and error; anyone else’s is a 404', async () => {
    const { document } = (await upload(h.alice, markdown())).json();
    await h.database.db.update(documents).set({ processingStatus: 'failed', error: 'no extractable text' }).where(eq(documents.id, document.id));
    const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/documents/${document.id}` });
    expect(res.json()).toMatchObject({ id: document.id, processingStatus: 'failed', chunkCount: 0, error: 'no extractable text' });
    expect(res.json()).not.toHaveProperty('content');
    expect((await call(h.app, h.bob, { method: 'GET', url: `/v1/documents/${document.id}` })).statusCode).toBe(404);
    expect((await call(h.app, h.alice, { method: 'GET', url: `/v1/documents/${randomUUID()}` })).statusCode).toBe(404);
  });
});
