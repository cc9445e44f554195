/** `GET /v1/cases/:caseId/search`: the caller's cases only, `q`, `k` and `kind` checked, passages (chunks, evidence, signals) as retrieval ranks them. */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenLedger } from '../../activities/db/schema/index.js';
import { seedDocument, seedEvidence, seedSignal } from '../helpers/retrieval.js';
import { call, insertCase, startApi, type ApiHarness } from './harness.js';

let h: ApiHarness;
let caseId: string;
let bobCaseId: string;
let quokka: { documentId: string; chunkIds: string[] };
let bobsQuokka: string;
let wallabyEvidence: string;
let wallabySignal: string;
let wallabyChunk: string;

beforeAll(async () => {
  h = await startApi();
  caseId = await insertCase(h.database, h.alice.id);
  bobCaseId = await insertCase(h.database, h.bob.id);
  quokka = await seedDocument(h.database.db, { caseId, userId: h.alice.id, title: 'Survey' }, [
    'The committee met on Tuesday.',
    'A quokka was counted near the ferry terminal.',
  ]);
  await seedDocument(
    h.database.db,
    { caseId, userId: h.alice.id, title: 'Sightings' },
    Array.from({ length: 12 }, (_, i) => `Bilby sighting ${i + 1}${' bilby'.repeat(i)}.`),
  );
  bobsQuokka = (await seedDocument(h.database.db, { caseId: bobCaseId, userId: h.bob.id }, ['A quokka of bob\'s.'])).documentId;
  wallabyEvidence = await seedEvidence(h.database.db, { caseId, userId: h.alice.id, sourceUrl: 'https://example.org/w' }, 'A wallaby was filmed in the park.');
  wallabySignal = await seedSignal(h.database.db, { caseId, type: 'risk' }, 'The wallaby may escape the park.');
  wallabyChunk = (await seedDocument(h.database.db, { caseId, userId: h.alice.id }, ['The wallaby enclosure plan.'])).chunkIds[0]!;
  await seedEvidence(h.database.db, { caseId: bobCaseId, userId: h.bob.id }, 'A wallaby of bob\'s.');
});

afterAll(async () => {
  await h?.close();
});

const search = (query: string, forCase = caseId, user = h.alice) => call(h.app, user, { method: 'GET', url: `/v1/cases/${forCase}/search?${query}` });

describe('answers', () => {
  it('finds a passage by a word only it contains, with its document and scores, and no full text', async () => {
    const res = await search('q=quokka');
    expect(res.statusCode).toBe(200);
    const { passages } = res.json();
    expect(passages[0]).toEqual({
      kind: 'chunk',
      chunkId: quokka.chunkIds[1],
      documentId: quokka.documentId,
      documentTitle: 'Survey',
      ordinal: 1,
      snippet: 'A quokka was counted near the ferry terminal.',
      scores: { fused: expect.any(Number), fullText: expect.any(Number), cosine: expect.any(Number), fullTextRank: 1, vectorRank: expect.any(Number) },
    });
    expect(passages.filter((p: { scores: { fullTextRank: number | null } }) => p.scores.fullTextRank !== null)).toHaveLength(1);
  });

  it('returns 10 passages by default and up to k', async () => {
    expect((await search('q=bilby')).json().passages).toHaveLength(10);
    expect((await search('q=bilby&k=3')).json().passages).toHaveLength(3);
    // 14 chunks in the case: 12 match the word, and the vector side may add the others.
    expect((await search('q=bilby&k=50')).json().passages.length).toBeGreaterThanOrEqual(12);
  });

  it("never shows another user's chunks, though they hold the word", async () => {
    const { passages } = (await search('q=quokka&k=50')).json();
    expect(passages.length).toBeGreaterThan(0);
    expect(passages.map((p: { documentId: string }) => p.documentId)).not.toContain(bobsQuokka);
  });
});

describe('kinds', () => {
  const scores = { fused: expect.any(Number), fullText: expect.any(Number), cosine: expect.any(Number), fullTextRank: expect.any(Number), vectorRank: expect.any(Number) };
  const byKind = (passages: { kind: string }[], kind: string) => passages.filter((p) => p.kind === kind);

  it('finds evidence and signal text beside chunks, each with its ids and a snippet, never a whole text', async () => {
    const { passages } = (await search('q=wallaby')).json();
    expect(byKind(passages, 'evidence')).toEqual([
      { kind: 'evidence', evidenceId: wallabyEvidence, source: 'manual', sourceUrl: 'https://example.org/w', sourceTitle: null, documentId: null, snippet: 'A wallaby was filmed in the park.', scores },
    ]);
    expect(byKind(passages, 'signal')).toEqual([
      { kind: 'signal', signalId: wallabySignal, signalType: 'risk', threadId: null, snippet: 'The wallaby may escape the park.', scores },
    ]);
    expect(byKind(passages, 'chunk').map((p) => (p as unknown as { chunkId: string }).chunkId)).toContain(wallabyChunk);
  });

  it.each(['chunk', 'evidence', 'signal'])('kind=%s answers that kind only', async (kind) => {
    const { passages } = (await search(`q=wallaby&k=50&kind=${kind}`)).json();
    expect(passages.length).toBeGreaterThan(0);
    expect(passages.every((p: { kind: string }) => p.kind === kind)).toBe(true);
  });
});

describe('refusals', () => {
  it.each([
    ['q missing', 'k=5', 'q'],
    ['q empty', 'q=', 'q'],
    ['q blank', 'q=%20%20', 'q'],
    ['q over 500 characters', `q=${'a'.repeat(501)}`, 'q'],
    ['q twice', 'q=a&q=b', 'q'],
    ['k zero', 'q=a&k=0', 'k'],
    ['k over 50', 'q=a&k=51', 'k'],
    ['k not a number', 'q=a&k=ten', 'k'],
    ['k a fraction', 'q=a&k=2.5', 'k'],
    ['an unknown parameter', 'q=a&limit=5', 'limit'],
    ['kind empty', 'q=a&kind=', 'kind'],
    ['kind not one of them', 'q=a&kind=document', 'kind'],
    ['kind twice', 'q=a&kind=chunk&kind=signal', 'kind'],
  ])('%s: 400 naming the field', async (_label, query, field) => {
    const res = await search(query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'FST_ERR_VALIDATION', field });
  });

  it('takes q at its longest', async () => {
    expect((await search(`q=${'a'.repeat(500)}`)).statusCode).toBe(200);
  });

  it("answers 404 for another user's case and an unknown one; without q, the same 400 as for its own", async () => {
    for (const forCase of [bobCaseId, randomUUID()]) {
      const res = await search('q=quokka', forCase);
      expect(res.statusCode, forCase).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND', message: 'case not found' });
    }
    // `q` is required by the schema, checked before the case is looked up: the answer tells nothing about whose case it is.
    const answers = await Promise.all([caseId, bobCaseId, randomUUID()].map(async (forCase) => (await search('', forCase)).json()));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]).toMatchObject({ statusCode: 400, field: 'q', message: 'querystring/q is required' });
  });

  it('answers 400 for a case id that is not a UUID, and 401 without a key', async () => {
    expect((await search('q=a', 'not-a-uuid')).json()).toMatchObject({ statusCode: 400, field: 'caseId' });
    expect((await h.app.inject({ method: 'GET', url: `/v1/cases/${caseId}/search?q=a` })).statusCode).toBe(401);
  });
});

describe('what a search costs', () => {
  it('meters its query embedding in the token ledger, one row per request, keyed by the user and the request id', async () => {
    const ledgerOf = () => h.database.db.select().from(tokenLedger).where(eq(tokenLedger.workflowId, `search:${h.alice.id}`));
    const before = await ledgerOf();
    expect((await search('q=quokka+ferry')).statusCode).toBe(200);
    expect((await search('q=quokka+ferry')).statusCode).toBe(200);
    // A refused search embeds nothing.
    expect((await search('q=a&k=0')).statusCode).toBe(400);
    const rows = (await ledgerOf()).filter((r) => !before.some((b) => b.runId === r.runId));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ activityId: 'search', attempt: 1, call: 0, userId: h.alice.id, purpose: 'embedding', provider: 'local' });
      expect(row.promptTokens).toBeGreaterThan(0);
    }
    expect(new Set(rows.map((r) => r.runId)).size).toBe(2);
  });

  it('has a per-user rate limit of its own: past it 429 with Retry-After, other users and starting POSTs untouched', async () => {
    const limited = await h.buildSibling({ config: { search: { rateLimitPerMinute: 2 } } });
    const on = (user = h.alice, forCase = caseId) => call(limited, user, { method: 'GET', url: `/v1/cases/${forCase}/search?q=quokka` });
    expect([(await on()).statusCode, (await on()).statusCode]).toEqual([200, 200]);
    const over = await on();
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(over.json().message).toContain('searches');
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await on(h.bob, bobCaseId)).statusCode).toBe(200);
    expect((await call(limited, h.alice, { method: 'POST', url: '/v1/threads', payload: {} })).statusCode).toBe(201);
  });
});
