/**
 * The vector cache (activities/retrieval/vector-cache.ts) against a real database: a write
 * through another handle (another process: the worker against the gateway) is seen by the
 * next search, whatever changed (rows added, a document processed again or deleted, an item
 * embedded or failed, a signal merged, a vector rewritten in place); a case's set holds only
 * its own rows; the memory bound evicts; and the answers are those of exact cosine.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../../activities/db/client.js';
import { chunks, documents, evidence, signals } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { passageId, retrieve, RETRIEVAL_DEFAULTS, type PassageKind } from '../../activities/retrieval/index.js';
import { chunkSource } from '../../activities/retrieval/chunk-source.js';
import { VectorCache, vectorCacheOf } from '../../activities/retrieval/vector-cache.js';
import { vectorSetBytes } from '../../activities/retrieval/vector-scan.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { axis, seedDocument, seedEvidence, seedSignal, seedUserCase, TEST_DIMENSIONS } from '../helpers/retrieval.js';

let database: TestDatabase;
/** A second handle on the same database: another process's pool, with a cache of its own. */
let other: DbHandle;
const local = createLocalEmbedder(TEST_DIMENSIONS);

beforeAll(async () => {
  database = await createTestDatabase();
  other = createDb(database.url, { poolMax: 2 });
});

afterAll(async () => {
  await other?.close();
  await database?.drop();
});

const newCase = () => seedUserCase(database.db);

/** What the vector side finds for a vector along `index` (no word matches 'zzzz'), as kind:id. */
async function byVector(handle: DbHandle, caseId: string, index: number, kinds?: PassageKind[]): Promise<string[]> {
  const { passages } = await retrieve(handle.db, local, { caseId, query: 'zzzz', queryVector: axis(index), k: 50, ...(kinds ? { kinds } : {}) });
  return passages.map((p) => `${p.kind}:${passageId(p)}`);
}

describe('the vector cache', () => {
  it('sees rows another handle adds, and a document processed again or deleted drops its chunks', async () => {
    const c = await newCase();
    const first = await seedDocument(database.db, c, [{ text: 'first', embedding: axis(3) }]);
    expect(await byVector(database, c.caseId, 3)).toEqual([`chunk:${first.chunkIds[0]}`]);
    // Written through the other handle, after this one cached the case.
    const second = await seedDocument(other.db, c, [{ text: 'second', embedding: axis(3, TEST_DIMENSIONS, { index: 4, weight: 0.1 }) }]);
    expect(await byVector(database, c.caseId, 3)).toEqual([`chunk:${first.chunkIds[0]}`, `chunk:${second.chunkIds[0]}`]);
    // Processed again: the document leaves `completed`, then its chunks are replaced.
    await other.db.update(documents).set({ processingStatus: 'pending' }).where(eq(documents.id, first.documentId));
    expect(await byVector(database, c.caseId, 3)).toEqual([`chunk:${second.chunkIds[0]}`]);
    await other.db.delete(chunks).where(eq(chunks.documentId, first.documentId));
    const [replaced] = await other.db.insert(chunks).values({ documentId: first.documentId, caseId: c.caseId, ordinal: 0, text: 'first again', tokenCount: 2, embedding: axis(3) }).returning({ id: chunks.id });
    await other.db.update(documents).set({ processingStatus: 'completed' }).where(eq(documents.id, first.documentId));
    expect(await byVector(database, c.caseId, 3)).toEqual([`chunk:${replaced!.id}`, `chunk:${second.chunkIds[0]}`]);
    await other.db.delete(documents).where(eq(documents.id, second.documentId));
    expect(await byVector(database, c.caseId, 3)).toEqual([`chunk:${replaced!.id}`]);
  });

  it('sees an item embedded or failed, a signal merged, and a vector rewritten in place', async () => {
    const c = await newCase();
    const item = await seedEvidence(database.db, c, 'an item not embedded yet', null);
    const signal = await seedSignal(database.db, { caseId: c.caseId }, 'a signal', axis(9));
    expect(await byVector(database, c.caseId, 9)).toEqual([`signal:${signal}`]);
    await other.db.update(evidence).set({ embedding: axis(9, TEST_DIMENSIONS, { index: 1, weight: 0.2 }) }).where(eq(evidence.id, item));
    expect(await byVector(database, c.caseId, 9)).toEqual([`signal:${signal}`, `evidence:${item}`]);
    await other.db.update(signals).set({ status: 'merged' }).where(eq(signals.id, signal));
    expect(await byVector(database, c.caseId, 9)).toEqual([`evidence:${item}`]);
    // Rewritten in place (same id, same dimensions): only a reload of the whole kind sees it.
    await other.db.update(evidence).set({ embedding: axis(11) }).where(eq(evidence.id, item));
    expect(await byVector(database, c.caseId, 9)).toEqual([]);
    expect(await byVector(database, c.caseId, 11)).toEqual([`evidence:${item}`]);
    await other.db.update(evidence).set({ status: 'failed' }).where(eq(evidence.id, item));
    expect(await byVector(database, c.caseId, 11)).toEqual([]);
  });

  it("never holds or returns another case's rows, and catches up by a diff of ids", async () => {
    const a = await newCase();
    const b = await newCase();
    const mine = await seedDocument(database.db, a, [{ text: 'a', embedding: axis(20) }]);
    const theirs = await seedDocument(database.db, b, [{ text: 'b', embedding: axis(20) }]);
    expect(await byVector(database, a.caseId, 20, ['chunk'])).toEqual([`chunk:${mine.chunkIds[0]}`]);
    expect(await byVector(database, b.caseId, 20, ['chunk'])).toEqual([`chunk:${theirs.chunkIds[0]}`]);

    const cache = new VectorCache(1 << 30);
    const get = async (caseId: string) =>
      cache.get(database.db, chunkSource, caseId, TEST_DIMENSIONS, 1000, (await cache.stamps(database.db, caseId)).get('chunk') ?? { version: 0, rewrites: 0 });
    expect((await get(a.caseId)).ids).toEqual(mine.chunkIds);
    expect(await get(a.caseId)).toMatchObject({ source: 'cache' });
    const more = await seedDocument(other.db, a, [{ text: 'a2', embedding: axis(21) }]);
    const caught = await get(a.caseId);
    expect(caught.source).toBe('diff');
    expect([...caught.ids].sort()).toEqual([...mine.chunkIds, ...more.chunkIds].sort());
    expect(cache.held().keys).toEqual([`${a.caseId}:chunk:${TEST_DIMENSIONS}`]);
  });

  it('evicts the least recently used set past its bound, and a set larger than the bound is used but not kept', async () => {
    const a = await newCase();
    const b = await newCase();
    await seedDocument(database.db, a, [{ text: 'a', embedding: axis(30) }, { text: 'a1', embedding: axis(31) }]);
    const other2 = await seedDocument(database.db, b, [{ text: 'b', embedding: axis(30) }, { text: 'b1', embedding: axis(31) }]);
    const twoRows = vectorSetBytes(2, TEST_DIMENSIONS);
    const cache = new VectorCache(twoRows);
    const get = async (caseId: string) =>
      cache.get(database.db, chunkSource, caseId, TEST_DIMENSIONS, 1000, (await cache.stamps(database.db, caseId)).get('chunk') ?? { version: 0, rewrites: 0 });
    await get(a.caseId);
    expect(cache.held()).toEqual({ sets: 1, bytes: twoRows, keys: [`${a.caseId}:chunk:${TEST_DIMENSIONS}`] });
    await get(b.caseId);
    expect(cache.held().keys).toEqual([`${b.caseId}:chunk:${TEST_DIMENSIONS}`]);
    await seedDocument(database.db, b, [{ text: 'b2', embedding: axis(32) }]);
    const big = await get(b.caseId);
    expect(big.ids).toHaveLength(3);
    expect(cache.held()).toEqual({ sets: 0, bytes: 0, keys: [] });

    // Through retrieve: the bound comes from the settings, the answers stay exact.
    const settings = { ...RETRIEVAL_DEFAULTS, vectorCacheBytes: twoRows };
    const { passages } = await retrieve(database.db, local, { caseId: b.caseId, query: 'zzzz', queryVector: axis(30), k: 5, kinds: ['chunk'] }, settings);
    expect(passages.map(passageId)).toEqual([other2.chunkIds[0]]);
    expect(vectorCacheOf(database.db, settings.vectorCacheBytes).held().bytes).toBeLessThanOrEqual(twoRows);
  });
});
