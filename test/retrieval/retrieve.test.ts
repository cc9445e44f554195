/**
 * `retrieve` against a real database: full-text, vector (scripted embeddings served by the
 * fake OpenAI server through the real OpenAI embedder), their fusion, and whose chunks a
 * case may see. Documents and chunks are written as indexing leaves them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { createOpenAiEmbedder } from '../../activities/llm/openai-embedder.js';
import type { Embedder } from '../../activities/llm/types.js';
import { passageId, retrieve, RRF_K } from '../../activities/retrieval/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { axis, seedCaseOf, seedDocument, seedUserCase, TEST_DIMENSIONS } from '../helpers/retrieval.js';

const SCRIPTED_DIMENSIONS = 8;

let database: TestDatabase;
let fake: FakeOpenAi;
let scripted: Embedder;
const local = createLocalEmbedder(TEST_DIMENSIONS);

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeOpenAi();
  scripted = createOpenAiEmbedder({ baseUrl: fake.baseUrl, apiKey: 'test-key', model: 'embed-test', dimensions: SCRIPTED_DIMENSIONS, timeoutMs: 5_000 });
});

afterAll(async () => {
  await fake?.close();
  await database?.drop();
});

beforeEach(() => fake.reset());

/** The next embedding request answers with this vector for the query. */
function scriptQueryVector(vector: number[]): void {
  const data = [{ object: 'embedding', index: 0, embedding: vector }];
  fake.enqueueEmbeddings({ body: { object: 'list', data, model: 'embed-test', usage: { prompt_tokens: 3, total_tokens: 3 } } });
}

const newCase = () => seedUserCase(database.db);

describe('full-text', () => {
  it('finds a passage by a word only it contains, with its document, ordinal, snippet and scores', async () => {
    const c = await newCase();
    const doc = await seedDocument(database.db, { ...c, title: 'Field notes' }, [
      'The committee met on Tuesday to discuss the budget.',
      'Nobody expected the quokka population survey to be approved so quickly.',
      'Minutes were taken and circulated afterwards.',
    ]);
    const { passages } = await retrieve(database.db, local, { caseId: c.caseId, query: 'quokka', k: 10 });
    expect(passages[0]).toMatchObject({
      kind: 'chunk',
      chunkId: doc.chunkIds[1],
      documentId: doc.documentId,
      documentTitle: 'Field notes',
      ordinal: 1,
      scores: { fullTextRank: 1 },
    });
    expect(passages[0]!.snippet).toContain('quokka');
    expect(passages[0]!.scores.fullText).toBeGreaterThan(0);
    // The other chunks may come back by vector (they share "the"), never by full-text.
    expect(passages.slice(1).every((p) => p.scores.fullTextRank === null)).toBe(true);
  });
});

describe('vector', () => {
  // The `local` embedder is feature hashing of words, not semantics: it cannot match a
  // paraphrase. The fake OpenAI server scripts vectors that say the two mean the same.
  it('finds a paraphrase that shares no word with the query', async () => {
    const c = await newCase();
    const doc = await seedDocument(database.db, c, [
      { text: 'Repairing a car costs a fortune these days.', embedding: axis(0, SCRIPTED_DIMENSIONS) },
      { text: 'The weather was mild all week.', embedding: axis(3, SCRIPTED_DIMENSIONS) },
    ]);
    scriptQueryVector(axis(0, SCRIPTED_DIMENSIONS, { index: 3, weight: 0.1 }));
    const { passages } = await retrieve(database.db, scripted, { caseId: c.caseId, query: 'expensive automobile maintenance', k: 10 });
    expect(fake.requests.map((r) => r.body.input)).toEqual([['expensive automobile maintenance']]);
    expect(passages.map((p) => passageId(p))).toEqual([doc.chunkIds[0], doc.chunkIds[1]]);
    expect(passages[0]!.scores).toMatchObject({ fullText: null, fullTextRank: null, vectorRank: 1 });
    expect(passages[0]!.scores.cosine).toBeCloseTo(1 / Math.hypot(1, 0.1), 5);
    expect(passages[0]!.scores.fused).toBeCloseTo(1 / (RRF_K + 1), 10);
  });
});

describe('fusion', () => {
  it('ranks a passage both retrievers found above passages only one found', async () => {
    const c = await newCase();
    const doc = await seedDocument(database.db, c, [
      // Full-text's best (the word twice), but nothing in common with the query's vector.
      { text: 'Zebra crossings and zebra stripes.', embedding: axis(5, SCRIPTED_DIMENSIONS) },
      // Second for both.
      { text: 'A zebra was seen near the river.', embedding: axis(0, SCRIPTED_DIMENSIONS, { index: 1, weight: 0.5 }) },
      // Vector's best, without the word.
      { text: 'Striped horses graze on the plains.', embedding: axis(0, SCRIPTED_DIMENSIONS) },
    ]);
    scriptQueryVector(axis(0, SCRIPTED_DIMENSIONS));
    const { passages } = await retrieve(database.db, scripted, { caseId: c.caseId, query: 'zebra', k: 10 });
    const [textOnly, both, vectorOnly] = doc.chunkIds;
    expect(passages.map((p) => passageId(p))).toEqual([both, textOnly, vectorOnly]);
    expect(passages[0]!.scores).toMatchObject({ fullTextRank: 2, vectorRank: 2 });
    expect(passages[0]!.scores.fused).toBeCloseTo(2 / (RRF_K + 2), 10);
    // A tie at 1/61: the full-text match comes first.
    expect(passages[1]!.scores).toMatchObject({ fullTextRank: 1, vectorRank: null, cosine: null });
    expect(passages[2]!.scores).toMatchObject({ fullTextRank: null, vectorRank: 1, fullText: null });
    expect(passages[1]!.scores.fused).toBe(passages[2]!.scores.fused);
  });
});

describe('what a case sees', () => {
  it("never returns another case's or another user's chunks, by word or by vector", async () => {
    const mine = await newCase();
    const sibling = { userId: mine.userId, caseId: await seedCaseOf(database.db, mine.userId) };
    const stranger = await newCase();
    const text = 'The wombat burrow was mapped.';
    const own = await seedDocument(database.db, mine, [text]);
    await seedDocument(database.db, sibling, [text]);
    await seedDocument(database.db, stranger, [text]);
    const { passages } = await retrieve(database.db, local, { caseId: mine.caseId, query: 'wombat burrow', k: 50 });
    expect(passages.map((p) => passageId(p))).toEqual(own.chunkIds);
  });

  it("searches only completed documents' chunks", async () => {
    const c = await newCase();
    const done = await seedDocument(database.db, c, ['The platypus report is final.']);
    for (const status of ['pending', 'processing', 'failed'] as const) {
      await seedDocument(database.db, { ...c, status }, [`The platypus report is ${status}.`]);
    }
    const { passages, vectors } = await retrieve(database.db, local, { caseId: c.caseId, query: 'platypus report', k: 50 });
    expect(passages.map((p) => passageId(p))).toEqual(done.chunkIds);
    expect(vectors).toEqual({ read: 1, limitReached: false });
  });
});

describe('k', () => {
  it('returns at most k passages, best first, and none for k = 0', async () => {
    const c = await newCase();
    await seedDocument(database.db, c, Array.from({ length: 12 }, (_, i) => `Echidna sighting number ${i + 1}${' echidna'.repeat(i)}.`));
    const top = await retrieve(database.db, local, { caseId: c.caseId, query: 'echidna', k: 5 });
    expect(top.passages).toHaveLength(5);
    const fused = top.passages.map((p) => p.scores.fused);
    expect(fused).toEqual([...fused].sort((a, b) => b - a));
    expect((await retrieve(database.db, local, { caseId: c.caseId, query: 'echidna', k: 50 })).passages).toHaveLength(12);
    expect((await retrieve(database.db, local, { caseId: c.caseId, query: 'echidna', k: 0 })).passages).toEqual([]);
  });
});
