/**
 * Evidence and signals as retrieval sources (Decision 32): each found by its words and by its
 * vector, one not embedded yet by its words alone; only the case's items that have not failed
 * and its active signals (a thread's that joined the case included); `kinds` picks sources.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threads } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { passageId, retrieve } from '../../activities/retrieval/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { axis, seedDocument, seedEvidence, seedSignal, seedUserCase, TEST_DIMENSIONS } from '../helpers/retrieval.js';

let database: TestDatabase;
const local = createLocalEmbedder(TEST_DIMENSIONS);

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const newCase = () => seedUserCase(database.db);

describe('evidence', () => {
  it('is found by a word only it holds, with its source and a snippet, and by its vector', async () => {
    const c = await newCase();
    const id = await seedEvidence(database.db, { ...c, sourceUrl: 'https://example.org/okapi' }, 'An okapi was photographed at the border.');
    await seedEvidence(database.db, c, 'The committee met on Tuesday.');
    const { passages } = await retrieve(database.db, local, { caseId: c.caseId, query: 'okapi', k: 10 });
    expect(passages[0]).toMatchObject({
      kind: 'evidence',
      evidenceId: id,
      source: 'manual',
      sourceUrl: 'https://example.org/okapi',
      sourceTitle: null,
      documentId: null,
      snippet: 'An okapi was photographed at the border.',
      text: 'An okapi was photographed at the border.',
      scores: { fullTextRank: 1 },
    });
    // By vector alone: the query's vector is the item's, and it shares no lexeme with it.
    const byVector = await retrieve(database.db, local, { caseId: c.caseId, query: 'zzzz', queryVector: axis(7), k: 10 });
    expect(byVector.passages).toEqual([]);
    const scripted = await seedEvidence(database.db, c, 'A scripted vector.', axis(7));
    const found = await retrieve(database.db, local, { caseId: c.caseId, query: 'zzzz', queryVector: axis(7), k: 10 });
    expect(found.passages.map(passageId)).toEqual([scripted]);
    expect(found.passages[0]!.scores).toMatchObject({ cosine: 1, fullTextRank: null, vectorRank: 1 });
  });

  it('a pending item not embedded yet is found by its words; a failed one is not found at all', async () => {
    const c = await newCase();
    const pending = await seedEvidence(database.db, { ...c, status: 'pending' }, 'The tapir census is pending.', null);
    await seedEvidence(database.db, { ...c, status: 'failed' }, 'The tapir census failed.');
    const { passages, vectors } = await retrieve(database.db, local, { caseId: c.caseId, query: 'tapir census', k: 10 });
    expect(passages.map(passageId)).toEqual([pending]);
    expect(passages[0]!.scores).toMatchObject({ fullTextRank: 1, vectorRank: null });
    expect(vectors.read).toBe(0);
  });

  it("never another case's", async () => {
    const mine = await newCase();
    const other = await newCase();
    const own = await seedEvidence(database.db, mine, 'The gecko count doubled.');
    await seedEvidence(database.db, other, 'The gecko count doubled.');
    const { passages } = await retrieve(database.db, local, { caseId: mine.caseId, query: 'gecko count', k: 50 });
    expect(passages.map(passageId)).toEqual([own]);
  });
});

describe('signals', () => {
  it("finds the case's own and a joined thread's active signals, with their type; not merged, archived or other cases'", async () => {
    const c = await newCase();
    const [thread] = await database.db.insert(threads).values({ userId: c.userId, caseId: c.caseId }).returning();
    const own = await seedSignal(database.db, { caseId: c.caseId, type: 'risk' }, 'The quarry lease may lapse.');
    const joined = await seedSignal(database.db, { caseId: c.caseId, threadId: thread!.id, type: 'assumption' }, 'The quarry lease runs ten years.');
    await seedSignal(database.db, { caseId: c.caseId, status: 'merged' }, 'The quarry lease merged away.');
    await seedSignal(database.db, { caseId: c.caseId, status: 'archived' }, 'The quarry lease archived.');
    const other = await newCase();
    await seedSignal(database.db, { caseId: other.caseId }, 'The quarry lease elsewhere.');
    // A thread not on the case: its signal has no case id.
    await seedSignal(database.db, { caseId: null, threadId: (await database.db.insert(threads).values({ userId: c.userId }).returning())[0]!.id }, 'The quarry lease unattached.');
    const { passages } = await retrieve(database.db, local, { caseId: c.caseId, query: 'quarry lease', k: 50 });
    expect(passages.map(passageId).sort()).toEqual([own, joined].sort());
    expect(passages.find((p) => passageId(p) === joined)).toMatchObject({ kind: 'signal', signalType: 'assumption', threadId: thread!.id, text: 'The quarry lease runs ten years.' });
    expect(passages.find((p) => passageId(p) === own)).toMatchObject({ kind: 'signal', signalType: 'risk', threadId: null });
  });

  it('one not embedded yet is found by its words', async () => {
    const c = await newCase();
    const id = await seedSignal(database.db, { caseId: c.caseId }, 'The marmot survey needs a permit.', null);
    const { passages } = await retrieve(database.db, local, { caseId: c.caseId, query: 'marmot permit', k: 10 });
    expect(passages.map(passageId)).toEqual([id]);
    expect(passages[0]!.scores).toMatchObject({ fullTextRank: 1, vectorRank: null });
  });
});

describe('kinds', () => {
  it('all three by default, fused in one ranking; `kinds` picks sources, typed by kind', async () => {
    const c = await newCase();
    const doc = await seedDocument(database.db, c, ['The lynx report, chapter one.']);
    const item = await seedEvidence(database.db, c, 'A lynx crossed the road.');
    const signal = await seedSignal(database.db, { caseId: c.caseId }, 'We assume the lynx is protected.');
    const all = await retrieve(database.db, local, { caseId: c.caseId, query: 'lynx', k: 10 });
    expect(all.passages.map(passageId).sort()).toEqual([doc.chunkIds[0]!, item, signal].sort());
    const onlySignals = await retrieve(database.db, local, { caseId: c.caseId, query: 'lynx', k: 10, kinds: ['signal'] });
    expect(onlySignals.passages.map((p) => p.signalId)).toEqual([signal]);
    const noChunks = await retrieve(database.db, local, { caseId: c.caseId, query: 'lynx', k: 10, kinds: ['evidence', 'signal'] });
    expect(noChunks.passages.map((p) => p.kind).sort()).toEqual(['evidence', 'signal']);
  });
});
