/**
 * `POST /v1/cases/:caseId/evidence` (issue 17, Decision 31): the item is stored `pending` and
 * `ingestEvidence` started (202); the same normalised text in the case is a 200 with the
 * existing item that starts nothing, unless the item failed: then it starts again (202); the
 * `documentId` must be a document of that case; every field is bounded; `Idempotency-Key`
 * replays the answer committed with the item; and the shared hand-off fails the item only
 * when its start certainly did not land. No worker: runs stay open, and the test ends them.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidence, idempotencyKeys } from '../../activities/db/schema/index.js';
import { storeDocument } from '../../activities/documents/store.js';
import { EVIDENCE_START_FAILED } from '../../activities/evidence/start.js';
import { caseIdKey, userIdKey } from '../../workflows/search-attributes.js';
import { eventually } from '../helpers/chat.js';
import { channelShutDown, deadlineExceeded } from './fake-temporal.js';
import { call, insertCase, startApi, type ApiHarness, type TestUser } from './harness.js';

let h: ApiHarness;
let caseId: string;
let otherCaseId: string;
let documentId: string;
let otherCaseDocumentId: string;
let bobsDocumentId: string;

const document = async (userId: string, target: string) =>
  (await storeDocument(h.database.db, { caseId: target, userId, source: 'upload', title: `notes-${randomUUID()}.md`, contentType: 'text/markdown', content: '# Rents' })).document.id;

beforeAll(async () => {
  h = await startApi();
  caseId = await insertCase(h.database, h.alice.id);
  otherCaseId = await insertCase(h.database, h.alice.id);
  documentId = await document(h.alice.id, caseId);
  otherCaseDocumentId = await document(h.alice.id, otherCaseId);
  bobsDocumentId = await document(h.bob.id, await insertCase(h.database, h.bob.id));
});

afterAll(async () => {
  // No worker serves these queues: stop the runs the tests started.
  for await (const run of h.env.client.workflow.list({ query: `TaskQueue = "${h.queues.ingest}" AND ExecutionStatus = "Running"` })) {
    await h.env.client.workflow.getHandle(run.workflowId).terminate('test over').catch(() => undefined);
  }
  await h?.close();
});

const submit = (payload: object, o: { user?: TestUser; app?: typeof h.app; target?: string; headers?: Record<string, string> } = {}) =>
  call(o.app ?? h.app, o.user ?? h.alice, { method: 'POST', url: `/v1/cases/${o.target ?? caseId}/evidence`, payload, headers: o.headers });
const text = () => `Rents near the station are ${Math.floor(Math.random() * 1e9)} pounds a month, the agent wrote.`;
const runsOf = async (workflowId: string) => {
  const runs = [];
  for await (const run of h.env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(run.runId);
  return runs;
};
/** Visibility is eventually consistent: a run just started may take a moment to be listed. */
const listedRunsOf = (workflowId: string, count: number) => eventually(() => runsOf(workflowId), (runs) => runs.length >= count, 10_000);
const itemRow = async (id: string) => (await h.database.db.select().from(evidence).where(eq(evidence.id, id)))[0];
const endRun = (workflowId: string) => h.env.client.workflow.getHandle(workflowId).terminate('ended by the test');

describe('POST /v1/cases/:caseId/evidence', () => {
  it('stores the item pending and starts evidence-<caseId>-<hash> on the ingest queue, tagged with the case and user', async () => {
    const body = { text: `  ${text()}\n`, sourceUrl: 'https://agents.example/rents', sourceTitle: 'Letting agent', documentId };
    const res = await submit(body);
    expect(res.statusCode, res.body).toBe(202);
    const { evidence: item, workflowId } = res.json();
    expect(item).toMatchObject({
      caseId, text: body.text.trim(), source: 'manual', sourceUrl: body.sourceUrl, sourceTitle: 'Letting agent', documentId,
      status: 'pending', error: null, links: [], contradictions: [], workflowId,
    });
    expect(workflowId).toBe(`evidence-${caseId}-${item.contentHash.slice(0, 16)}`);
    const described = await h.env.client.workflow.getHandle(workflowId).describe();
    expect({ type: described.type, queue: described.taskQueue }).toEqual({ type: 'ingestEvidence', queue: h.queues.ingest });
    expect([described.typedSearchAttributes.get(caseIdKey), described.typedSearchAttributes.get(userIdKey)]).toEqual([caseId, h.alice.id]);
  });

  it('a duplicate (same case, same normalised text) answers 200 with the existing item and starts nothing', async () => {
    const said = text();
    const first = await submit({ text: said });
    expect(first.statusCode).toBe(202);
    const again = await submit({ text: `${said.replace(/ /g, '  ')}  `, sourceUrl: 'https://other.example/' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual(first.json());
    await new Promise((r) => setTimeout(r, 500));
    expect(await runsOf(first.json().workflowId)).toHaveLength(1);
    // The same text in another case is another item.
    expect((await submit({ text: said }, { target: otherCaseId })).statusCode).toBe(202);
  });

  it('a duplicate of a failed item starts it again (202, pending, a new run); of a completed one, nothing', async () => {
    const said = text();
    const { evidence: item, workflowId } = (await submit({ text: said })).json();
    await endRun(workflowId);
    await h.database.db.update(evidence).set({ status: 'failed', error: 'scoring failed: the model was down' }).where(eq(evidence.id, item.id));
    const retried = await submit({ text: said });
    expect(retried.statusCode, retried.body).toBe(202);
    expect(retried.json()).toMatchObject({ workflowId, evidence: { id: item.id, status: 'pending', error: null } });
    expect(await listedRunsOf(workflowId, 2)).toHaveLength(2);
    await endRun(workflowId);
    await h.database.db.update(evidence).set({ status: 'completed' }).where(eq(evidence.id, item.id));
    const done = await submit({ text: said });
    expect(done.statusCode).toBe(200);
    expect(done.json().evidence).toMatchObject({ id: item.id, status: 'completed' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await runsOf(workflowId)).toHaveLength(2);
  });

  it('documentId must be a document of that case: of another case 400, of another user or none 404; nothing stored', async () => {
    const cases: [string, number, string?][] = [[otherCaseDocumentId, 400, 'documentId'], [bobsDocumentId, 404], [randomUUID(), 404]];
    for (const [id, status, field] of cases) {
      const said = text();
      const res = await submit({ text: said, documentId: id });
      expect({ status: res.statusCode, field: res.json().field }).toEqual({ status, field });
      expect(await h.database.db.select().from(evidence).where(eq(evidence.text, said))).toHaveLength(0);
    }
  });

  it('bounds every field: 400 naming it', async () => {
    const small = await h.buildSibling({ config: { evidence: { maxChars: 50 } } });
    const cases: [object, string, RegExp, typeof h.app?][] = [
      [{ text: 'x'.repeat(51) }, 'text', /50/, small],
      [{ text: '  \n ' }, 'text', /empty/],
      [{}, 'text', /required/],
      [{ text: text(), sourceUrl: 'javascript:alert(1)' }, 'sourceUrl', /http/],
      [{ text: text(), sourceUrl: `https://example.org/${'a'.repeat(9000)}` }, 'sourceUrl', /8192/],
      [{ text: text(), sourceTitle: 't'.repeat(501) }, 'sourceTitle', /500/],
      [{ text: text(), documentId: 'nope' }, 'documentId', /UUID/],
      [{ text: text(), extra: 1 }, 'extra', /not allowed/],
    ];
    for (const [payload, field, message, app] of cases) {
      const res = await submit(payload, { app });
      expect({ status: res.statusCode, field: res.json().field }, JSON.stringify(payload).slice(0, 80)).toEqual({ status: 400, field });
      expect(res.json().message).toMatch(message);
    }
    expect((await submit({ text: 'x'.repeat(50) }, { app: small })).statusCode).toBe(202);
  });

  it('answers 404 for a case that is not the caller’s, or none', async () => {
    expect((await submit({ text: text() }, { user: h.bob })).statusCode).toBe(404);
    expect((await submit({ text: text() }, { target: randomUUID() })).statusCode).toBe(404);
  });
});

describe('Idempotency-Key on the evidence route', () => {
  it('the same key twice: the first answer replayed, one item, one run', async () => {
    const headers = { 'idempotency-key': `evidence-${randomUUID()}` };
    const payload = { text: text() };
    const answers = await Promise.all([submit(payload, { headers }), submit(payload, { headers })]);
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202]);
    expect(answers[1]!.body).toBe(answers[0]!.body);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(1);
    expect(await h.database.db.select().from(evidence).where(eq(evidence.text, payload.text))).toHaveLength(1);
    expect(await listedRunsOf(answers[0]!.json().workflowId, 1)).toHaveLength(1);
  });

  it('commits its answer with the item: a start that may have landed keeps the 202 for the retry', async () => {
    const unsure = await h.buildSibling({ temporal: failingStarts(h.env.client, deadlineExceeded, true) });
    const headers = { 'idempotency-key': `evidence-${randomUUID()}` };
    const payload = { text: text() };
    const first = await submit(payload, { app: unsure, headers });
    expect(first.statusCode).toBe(202);
    const retry = await submit(payload, { headers });
    expect({ status: retry.statusCode, replayed: retry.headers['idempotent-replayed'] }).toEqual({ status: 202, replayed: 'true' });
    expect(retry.body).toBe(first.body);
  });
});

/** A client whose start (the hand-off) fails with `failure`, after landing for real when `lands`. */
function failingStarts(real: Client, failure: () => Error, lands: boolean): Client {
  const start: Client['workflow']['start'] = async (...args) => {
    if (lands) await real.workflow.start(...args);
    throw failure();
  };
  return { withDeadline: real.withDeadline.bind(real), workflow: { start } } as unknown as Client;
}

describe('the hand-off', () => {
  it('fails the item on a start that certainly failed (503, the key freed), and submitting it again starts it', async () => {
    const closed = await h.buildSibling({ temporal: failingStarts(h.env.client, channelShutDown, false) });
    const key = `evidence-${randomUUID()}`;
    const payload = { text: text() };
    const res = await submit(payload, { app: closed, headers: { 'idempotency-key': key } });
    expect({ status: res.statusCode, message: res.json().message }).toEqual({ status: 503, message: EVIDENCE_START_FAILED });
    const [row] = await h.database.db.select().from(evidence).where(eq(evidence.text, payload.text));
    expect({ status: row?.status, error: row?.error }).toEqual({ status: 'failed', error: EVIDENCE_START_FAILED });
    expect(await h.database.db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.userId, h.alice.id), eq(idempotencyKeys.key, key)))).toHaveLength(0);
    const retried = await submit(payload, { headers: { 'idempotency-key': key } });
    expect(retried.statusCode, retried.body).toBe(202);
    expect(retried.json().evidence).toMatchObject({ id: row!.id, status: 'pending', error: null });
    expect(await listedRunsOf(retried.json().workflowId, 1)).toHaveLength(1);
  });

  it('leaves the item pending and answers 202 when the start may have happened', async () => {
    for (const lands of [true, false]) {
      const uncertain = await h.buildSibling({ temporal: failingStarts(h.env.client, deadlineExceeded, lands) });
      const res = await submit({ text: text() }, { app: uncertain });
      expect(res.statusCode, res.body).toBe(202);
      expect((await itemRow(res.json().evidence.id))?.status).toBe('pending');
      await new Promise((r) => setTimeout(r, 300));
      expect(await runsOf(res.json().workflowId)).toHaveLength(lands ? 1 : 0);
    }
  });
});
