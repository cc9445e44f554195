/**
 * `GET /v1/cases/:caseId/evidence` and `GET /v1/evidence/:evidenceId` (issue 17): each item
 * with its status, error, scores, links (signal, relation, reasoning, score) and
 * contradictions (the other side, from either side of the pair); newest first and paged; the
 * caller's only. Rows are written as ingestion leaves them.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contradictions, evidence, evidenceSignalLinks } from '../../activities/db/schema/index.js';
import { orderedPair } from '../../activities/evidence/record.js';
import { storeEvidence } from '../../activities/evidence/store.js';
import { seedSignal } from '../helpers/retrieval.js';
import { call, insertCase, startApi, type ApiHarness } from './harness.js';

let h: ApiHarness;
let caseId: string;
let bobCaseId: string;
let rentSignal: string;
let older: string;
let newer: string;
let failed: string;
let bobsItem: string;

const RENT_2000 = 'We assume rents near the station are about 2000 pounds a month.';

async function item(text: string, o: { caseId?: string; userId?: string } = {}) {
  const { evidence: row } = await storeEvidence(h.database.db, { caseId: o.caseId ?? caseId, userId: o.userId ?? h.alice.id, text, sourceUrl: 'https://agents.example/rents' });
  return row.id;
}

beforeAll(async () => {
  h = await startApi();
  caseId = await insertCase(h.database, h.alice.id);
  bobCaseId = await insertCase(h.database, h.bob.id);
  rentSignal = await seedSignal(h.database.db, { caseId, type: 'assumption' }, RENT_2000);
  older = await item('Rents near the station are 2000 pounds a month, the agent confirms.');
  newer = await item('Rents near the station are 3500 pounds a month, the letting agent wrote.');
  failed = await item('This one failed.');
  bobsItem = await item('A piece of evidence of bob.', { caseId: bobCaseId, userId: h.bob.id });
  const db = h.database.db;
  await db.update(evidence).set({ status: 'completed', relevance: 0.9, credibility: 0.55 }).where(eq(evidence.id, older));
  await db.update(evidence).set({ status: 'completed', relevance: 1, credibility: 0.65 }).where(eq(evidence.id, newer));
  await db.update(evidence).set({ status: 'failed', error: 'scoring failed: the model refused this one' }).where(eq(evidence.id, failed));
  await db.insert(evidenceSignalLinks).values([
    { evidenceId: older, signalId: rentSignal, caseId, relation: 'supports', reasoning: 'supports the shared claim (month, near, pound, rent, station)', score: 1 },
    { evidenceId: newer, signalId: rentSignal, caseId, relation: 'contradicts', reasoning: 'contradicts: the numbers for "pound" differ: 3500 against 2000', score: 1 },
  ]);
  await db.insert(contradictions).values([
    { caseId, ...orderedPair({ kind: 'evidence', id: newer }, { kind: 'signal', id: rentSignal }), reason: 'number-mismatch: 3500 against 2000', score: 0.9 },
    { caseId, ...orderedPair({ kind: 'evidence', id: newer }, { kind: 'evidence', id: older }), reason: 'number-mismatch: 3500 against 2000', score: 0.8 },
  ]);
});

afterAll(async () => {
  await h?.close();
});

const get = (url: string, user = h.alice) => call(h.app, user, { method: 'GET', url });

describe('GET /v1/evidence/:evidenceId', () => {
  it('shows the item with its scores, its links and its contradictions (the other side each time)', async () => {
    const res = await get(`/v1/evidence/${newer}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      id: newer,
      caseId,
      text: 'Rents near the station are 3500 pounds a month, the letting agent wrote.',
      source: 'manual',
      sourceUrl: 'https://agents.example/rents',
      sourceTitle: null,
      documentId: null,
      status: 'completed',
      error: null,
      relevance: 1,
      credibility: 0.65,
      workflowId: `evidence-${caseId}-${body.contentHash.slice(0, 16)}`,
    });
    expect(body.links).toEqual([
      { signalId: rentSignal, signalType: 'assumption', signalText: RENT_2000, relation: 'contradicts', reasoning: 'contradicts: the numbers for "pound" differ: 3500 against 2000', score: 1 },
    ]);
    expect(body.contradictions).toEqual([
      { kind: 'signal', id: rentSignal, text: RENT_2000, reason: 'number-mismatch: 3500 against 2000', score: 0.9 },
      { kind: 'evidence', id: older, text: 'Rents near the station are 2000 pounds a month, the agent confirms.', reason: 'number-mismatch: 3500 against 2000', score: 0.8 },
    ]);
    expect(Object.keys(body)).not.toContain('embedding');
  });

  it('shows a pair from its other side too', async () => {
    const body = (await get(`/v1/evidence/${older}`)).json();
    expect(body.contradictions).toEqual([expect.objectContaining({ kind: 'evidence', id: newer, score: 0.8 })]);
    expect(body.links).toEqual([expect.objectContaining({ signalId: rentSignal, relation: 'supports' })]);
  });

  it('a failed item says why', async () => {
    expect((await get(`/v1/evidence/${failed}`)).json()).toMatchObject({ status: 'failed', error: 'scoring failed: the model refused this one', relevance: null, credibility: null, links: [], contradictions: [] });
  });

  it("answers 404 for another user's item and an unknown one", async () => {
    for (const id of [bobsItem, randomUUID()]) {
      const res = await get(`/v1/evidence/${id}`);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND', message: 'evidence not found' });
    }
    expect((await get(`/v1/evidence/${bobsItem}`, h.bob)).statusCode).toBe(200);
  });
});

describe('GET /v1/cases/:caseId/evidence', () => {
  it('lists the items newest first, each with its relations', async () => {
    const { evidence: items, nextAfter } = (await get(`/v1/cases/${caseId}/evidence`)).json();
    expect(items.map((i: { id: string }) => i.id)).toEqual([failed, newer, older]);
    expect(items[1].links).toHaveLength(1);
    expect(items[1].contradictions).toHaveLength(2);
    expect(items[2].contradictions).toHaveLength(1);
    expect(nextAfter).toBeNull();
  });

  it('pages with limit and after, no item repeated or skipped, even as new ones arrive', async () => {
    const first = (await get(`/v1/cases/${caseId}/evidence?limit=2`)).json();
    expect(first.evidence.map((i: { id: string }) => i.id)).toEqual([failed, newer]);
    expect(first.nextAfter).toEqual(expect.any(String));
    await item(`Arrived while paging ${randomUUID()}.`);
    const second = (await get(`/v1/cases/${caseId}/evidence?limit=2&after=${first.nextAfter}`)).json();
    expect(second.evidence.map((i: { id: string }) => i.id)).toEqual([older]);
    expect(second.nextAfter).toBeNull();
  });

  it('breaks ties of one creation time by id (descending), so no page repeats or skips one', async () => {
    const tied = await insertCase(h.database, h.alice.id);
    const at = new Date('2026-12-01T10:00:00.123456Z');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await item(`Tied item ${i}.`, { caseId: tied }));
    await h.database.db.update(evidence).set({ createdAt: at }).where(eq(evidence.caseId, tied));
    const seen: string[] = [];
    let after = '';
    do {
      const page = (await get(`/v1/cases/${tied}/evidence?limit=2${after ? `&after=${after}` : ''}`)).json();
      seen.push(...page.evidence.map((i: { id: string }) => i.id));
      after = page.nextAfter ?? '';
    } while (after);
    expect(seen).toEqual([...ids].sort().reverse());
  });

  it("answers 404 for another user's case, 400 for a cursor of another list", async () => {
    expect((await get(`/v1/cases/${bobCaseId}/evidence`)).statusCode).toBe(404);
    const casesCursor = (await get('/v1/cases?limit=1')).json().nextAfter ?? Buffer.from(JSON.stringify({ list: 'cases', key: '2026-01-01T00:00:00.000000Z/' + randomUUID() })).toString('base64url');
    const res = await get(`/v1/cases/${caseId}/evidence?after=${casesCursor}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'after' });
  });
});
