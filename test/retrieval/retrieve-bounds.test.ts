/**
 * `retrieve` at its edges: queries with nothing for full-text to match, ties, the bound on
 * vectors read, vectors of other dimensions, snippets of long chunks, a caller's own vector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import type { Embedder } from '../../activities/llm/types.js';
import { SNIPPET_MAX_CHARS } from '../../activities/retrieval/chunk-source.js';
import { passageId, retrieve, RETRIEVAL_DEFAULTS } from '../../activities/retrieval/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { axis, seedDocument, seedUserCase, TEST_DIMENSIONS } from '../helpers/retrieval.js';

let database: TestDatabase;
const local = createLocalEmbedder(TEST_DIMENSIONS);

/** The local embedder, counting what it is asked to embed. */
function countingEmbedder(): Embedder & { inputs: string[][] } {
  const inputs: string[][] = [];
  return { ...local, inputs, embed: (texts, call) => (inputs.push(texts), local.embed(texts, call)) };
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const newCase = () => seedUserCase(database.db);

describe('queries full-text cannot use', () => {
  it('a query of only stop words is answered by the vector side alone', async () => {
    const c = await newCase();
    const doc = await seedDocument(database.db, c, ['It was the best of times.', 'Completely unrelated words here.']);
    const { passages } = await retrieve(database.db, local, { caseId: c.caseId, query: 'the of', k: 10 });
    // `local` hashes every word, stop words too: the chunk holding "the of" shares features.
    expect(passages[0]).toMatchObject({ chunkId: doc.chunkIds[0], scores: { fullText: null, fullTextRank: null, vectorRank: 1 } });
    expect(passages.every((p) => p.scores.fullTextRank === null)).toBe(true);
    expect(passages[0]!.snippet).toBe('It was the best of times.');
  });

  it('an empty or blank query returns nothing and embeds nothing', async () => {
    const c = await newCase();
    await seedDocument(database.db, c, ['Some text.']);
    const embedder = countingEmbedder();
    for (const query of ['', '   \n']) {
      expect((await retrieve(database.db, embedder, { caseId: c.caseId, query, k: 10 })).passages).toEqual([]);
    }
    expect(embedder.inputs).toEqual([]);
  });

  it('websearch syntax that is not well formed still searches', async () => {
    const c = await newCase();
    const doc = await seedDocument(database.db, c, ['The narwhal tusk is a tooth.']);
    const { passages } = await retrieve(database.db, local, { caseId: c.caseId, query: '"narwhal OR -(tusk', k: 10 });
    expect((passages[0] && passageId(passages[0]))).toBe(doc.chunkIds[0]);
  });
});

describe('ties and bounds', () => {
  it('orders identical passages by id, the same every time', async () => {
    const c = await newCase();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(...(await seedDocument(database.db, c, ['The same sentence about a dingo.'])).chunkIds);
    const runs = await Promise.all([1, 2, 3].map(() => retrieve(database.db, local, { caseId: c.caseId, query: 'dingo', k: 10 })));
    for (const run of runs) expect(run.passages.map((p) => passageId(p))).toEqual([...ids].sort());
  });

  it('reads at most maxVectors vectors, the newest documents first, and says so', async () => {
    const c = await newCase();
    const day = (n: number) => new Date(Date.UTC(2026, 0, n));
    const oldest = await seedDocument(database.db, { ...c, createdAt: day(1) }, ['An ibis by the lake.']);
    const middle = await seedDocument(database.db, { ...c, createdAt: day(2) }, ['An ibis in the reeds.']);
    const newest = await seedDocument(database.db, { ...c, createdAt: day(3) }, ['An ibis on the shore.']);
    const settings = { ...RETRIEVAL_DEFAULTS, maxVectors: 2 };
    const result = await retrieve(database.db, local, { caseId: c.caseId, query: 'ibis', k: 10 }, settings);
    expect(result.vectors).toEqual({ read: 2, limitReached: true });
    const byVector = result.passages.filter((p) => p.kind === 'chunk' && p.scores.vectorRank !== null).map((p) => p.kind === 'chunk' && p.documentId);
    expect(byVector.sort()).toEqual([middle.documentId, newest.documentId].sort());
    // Full-text still covers every chunk.
    expect(result.passages.find((p) => p.kind === 'chunk' && p.documentId === oldest.documentId)?.scores.fullTextRank).not.toBeNull();
  });

  it('holds at most maxVectorBytes of vectors (dimensions × 4 bytes × rows), however many maxVectors allows', async () => {
    const c = await newCase();
    const day = (n: number) => new Date(Date.UTC(2026, 0, n));
    for (let n = 1; n <= 4; n++) await seedDocument(database.db, { ...c, createdAt: day(n) }, [`A heron, day ${n}.`]);
    const rowBytes = TEST_DIMENSIONS * 4;
    const settings = { ...RETRIEVAL_DEFAULTS, maxVectors: 1_000, maxVectorBytes: 3 * rowBytes + rowBytes / 2 };
    const result = await retrieve(database.db, local, { caseId: c.caseId, query: 'heron', k: 10 }, settings);
    expect(result.vectors).toEqual({ read: 3, limitReached: true });
    // The same case, with room for all of them.
    const roomy = await retrieve(database.db, local, { caseId: c.caseId, query: 'heron', k: 10 }, { ...settings, maxVectorBytes: 4 * rowBytes });
    expect(roomy.vectors).toEqual({ read: 4, limitReached: false });
  });

  it('skips vectors of other dimensions (made before the embedder changed), but not their words', async () => {
    const c = await newCase();
    const stale = await seedDocument(database.db, c, [{ text: 'A kiwi in the dark.', embedding: axis(0, 8) }]);
    const { passages, vectors } = await retrieve(database.db, local, { caseId: c.caseId, query: 'kiwi', k: 10 });
    expect(vectors.read).toBe(0);
    expect(passages).toMatchObject([{ chunkId: stale.chunkIds[0], scores: { fullTextRank: 1, vectorRank: null } }]);
  });
});

describe('snippets and callers', () => {
  it('cuts a few hundred characters around the match out of a long chunk', async () => {
    const c = await newCase();
    const filler = (word: string) => Array.from({ length: 120 }, (_, i) => `${word}${i}`).join(' ');
    await seedDocument(database.db, c, [`${filler('alpha')} the axolotl surfaced. ${filler('omega')}`]);
    const [passage] = (await retrieve(database.db, local, { caseId: c.caseId, query: 'axolotl', k: 1 })).passages;
    expect(passage!.snippet).toContain('axolotl');
    expect(passage!.snippet.startsWith('…')).toBe(true);
    expect(passage!.snippet.endsWith('…')).toBe(true);
    expect(passage!.snippet.length).toBeLessThanOrEqual(SNIPPET_MAX_CHARS + 2);
    expect(passage!.text.length).toBeGreaterThan(passage!.snippet.length);
  });

  it("uses a caller's own query vector instead of embedding the query", async () => {
    const c = await newCase();
    const doc = await seedDocument(database.db, c, ['Only the vector matters here.']);
    const embedder = countingEmbedder();
    const queryVector = (await local.embed(['Only the vector matters here.']))[0]!;
    const { passages } = await retrieve(database.db, embedder, { caseId: c.caseId, query: '', k: 5, queryVector, kinds: ['chunk'] });
    expect(embedder.inputs).toEqual([]);
    expect(passages[0]).toMatchObject({ chunkId: doc.chunkIds[0], scores: { vectorRank: 1, fullTextRank: null } });
    expect(passages[0]!.scores.cosine).toBeCloseTo(1, 6);
  });
});
