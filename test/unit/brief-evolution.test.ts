/**
 * The brief's evolution activity over the file's own database, its input rows written with
 * drizzle: which rows land in which section, the grounding formula, each annotation rule
 * (and that a person's resolution sticks while its cause is unchanged, that a critique's are
 * never touched), one version per evolution key, and the narrowed retries.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { briefAnnotations, evidenceSignalLinks, threads } from '../../activities/db/schema/index.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { resolveByPerson } from '../../api/brief-store.js';
import type { BriefChanges } from '../../workflows/types.js';
import { annotationsOf, briefEvents, briefVersions, seedContradiction, seedEvidence, seedLink, seedSignal } from '../helpers/briefs.js';
import { seedThread, seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { testQueues } from '../helpers/temporal.js';

const DAY_MS = 24 * 60 * 60 * 1000;
let database: TestDatabase;
let userId: string;
/** What the model does next; null: the local rules. */
let writeBrief: Llm['writeBrief'] | null = null;

const local = createLocalLlm();
const llm: Llm = { ...local, writeBrief: (draft, call) => (writeBrief ?? local.writeBrief)(draft, call) };

function activities(staleEvidenceDays = 180) {
  return createActivities({
    db: database.db, llm, embedder: createLocalEmbedder(64),
    // Lazy: it connects on first use, and the evolution never uses it.
    temporal: new Client(),
    config: { queues: testQueues('brief-evolution'), chat: { redeliveryAfterMs: 30_000 }, brief: { debounceMs: 1, maxWaitMs: 1, idleCloseMs: 1, staleEvidenceDays } },
    clock: () => new Date(),
  });
}

const changes = (n = 1): BriefChanges => ({ total: n, counts: { 'evidence-added': n }, sample: [] });
const evolve = (caseId: string, key = randomUUID(), staleDays?: number) =>
  activities(staleDays).evolveCaseBrief({ caseId, evolutionKey: key, changes: changes() });

async function latest(caseId: string) {
  const versions = await briefVersions(database.db, caseId);
  const brief = versions.at(-1)!;
  const section = (key: string) => brief.sections.find((s) => s.key === key)!;
  const ids = (key: string) => section(key).items.map((i) => i.id);
  return { brief, section, ids };
}

const openOf = async (caseId: string) => (await annotationsOf(database.db, caseId)).filter((a) => a.resolvedAt === null);

beforeAll(async () => {
  database = await createTestDatabase();
  userId = (await seedUser(database.db)).id;
});
afterAll(() => database?.drop());

describe('the local brief: which rows land in which section', () => {
  it('sorts goals, claims, evidence for and against, questions and risks, and leaves out what is not the case\'s or not settled', async () => {
    const db = database.db;
    const caseId = await seedCase(db, userId, 'Second bakery');
    const otherCase = await seedCase(db, userId, 'another');
    const thread = await seedThread(db, userId);
    await db.update(threads).set({ caseId }).where(eq(threads.id, thread.id));
    const s = async (type: string, text: string, extra: { threadId?: string; status?: 'archived'; confidence?: number; caseId?: string } = {}) =>
      (await seedSignal(db, { caseId, type, text, ...extra })).id;
    const goal = await s('goal', 'Open a second bakery in Leeds');
    const assumption = await s('assumption', 'Rents near the station are 2000 pounds', { confidence: 0.9 });
    const constraint = await s('constraint', 'The budget must stay under 150k', { confidence: 0.85 });
    const decision = await s('decision', 'Lease the ovens', { confidence: 0.7 });
    const fromThread = await s('assumption', 'Footfall doubles in spring', { threadId: thread.id, confidence: 0.6 });
    const question = await s('question', 'Should we lease or buy?');
    const risk = await s('risk', 'The landlord may sell');
    const criterion = await s('criterion', 'Price matters most');
    const archived = await s('assumption', 'An old assumption', { status: 'archived' });
    const foreign = await s('assumption', 'Another case\'s claim', { caseId: otherCase });
    const e = async (text: string, status: 'completed' | 'pending' = 'completed') => (await seedEvidence(db, { caseId, userId, text, status })).id;
    const supporting = await e('An agent quotes 1900-2100 pounds a month');
    const contradicting = await e('The council caps bakery budgets at 100k');
    const neutral = await e('Leeds has many bakeries');
    const pending = await e('Not ingested yet', 'pending');
    const [left, right] = [await e('Footfall rose 10%'), await e('Footfall fell 10%')];
    await seedLink(db, { caseId, evidenceId: supporting, signalId: assumption, relation: 'supports' });
    await seedLink(db, { caseId, evidenceId: contradicting, signalId: constraint, relation: 'contradicts' });
    await seedLink(db, { caseId, evidenceId: neutral, signalId: decision, relation: 'neutral' });
    await seedLink(db, { caseId, evidenceId: pending, signalId: decision, relation: 'supports' });
    await seedLink(db, { caseId, evidenceId: supporting, signalId: archived, relation: 'supports' });
    await seedContradiction(db, { caseId, left: { kind: 'evidence', id: left }, right: { kind: 'evidence', id: right } });

    await evolve(caseId);
    const { ids, section } = await latest(caseId);
    expect(ids('summary')).toEqual([goal]);
    expect(ids('key-claims')).toEqual([assumption, constraint, decision, fromThread]);
    expect(ids('evidence-for')).toEqual([supporting]);
    expect(new Set(ids('evidence-against'))).toEqual(new Set([contradicting, left, right]));
    expect(ids('open-questions')).toEqual([question]);
    expect(ids('risks')).toEqual([risk]);
    const everywhere = ['summary', 'key-claims', 'evidence-for', 'evidence-against', 'open-questions', 'risks'].flatMap(ids);
    for (const absent of [criterion, archived, foreign, neutral, pending]) expect(everywhere).not.toContain(absent);
    expect(section('summary').text).toContain('Second bakery: 4 key claims (1 backed by evidence)');
  });

  it('grounds a claim by its evidence, weighted by credibility: 1 − Π(1 − w) over supports, × Π(1 − w) over what contradicts it', async () => {
    const db = database.db;
    const caseId = await seedCase(db, userId);
    const one = (await seedSignal(db, { caseId, type: 'assumption', text: 'one support', confidence: 0.9 })).id;
    const none = (await seedSignal(db, { caseId, type: 'assumption', text: 'no support', confidence: 0.8 })).id;
    const mixed = (await seedSignal(db, { caseId, type: 'assumption', text: 'two supports, one against', confidence: 0.7 })).id;
    const strong = (await seedEvidence(db, { caseId, userId, text: 'credible', credibility: 0.8 })).id;
    const unscored = (await seedEvidence(db, { caseId, userId, text: 'not scored yet', credibility: null })).id;
    await seedLink(db, { caseId, evidenceId: strong, signalId: one, relation: 'supports', score: 0.5 }); // w = 0.4
    await seedLink(db, { caseId, evidenceId: strong, signalId: mixed, relation: 'supports', score: 0.5 }); // w = 0.4
    await seedLink(db, { caseId, evidenceId: (await seedEvidence(db, { caseId, userId, text: 'also credible', credibility: 0.8 })).id, signalId: mixed, relation: 'supports', score: 0.5 });
    await seedContradiction(db, { caseId, left: { kind: 'signal', id: mixed }, right: { kind: 'evidence', id: unscored } }); // w = 0.5 × 1

    await evolve(caseId);
    const { section, brief } = await latest(caseId);
    const claims = section('key-claims');
    expect(claims.items.map((i) => [i.id, i.grounding])).toEqual([[one, 0.4], [none, 0], [mixed, 0.32]]);
    expect(claims.grounding).toBe(0.24);
    expect(section('evidence-for').items.map((i) => i.grounding)).toEqual([0.8, 0.8]);
    expect(section('evidence-against').items.map((i) => [i.id, i.grounding])).toEqual([[unscored, 0.5]]);
    expect(section('open-questions').grounding).toBe(0);
    // The mean over every item of every section: (0.4 + 0 + 0.32 + 0.8 + 0.8 + 0.5) / 6.
    expect(brief.grounding).toBe(0.47);
  });
});

describe('annotations (source brief)', () => {
  async function claimCase() {
    const db = database.db;
    const caseId = await seedCase(db, userId);
    const claim = await seedSignal(db, { caseId, type: 'assumption', text: 'Rents are 2000 pounds' });
    return { caseId, claim: claim.id };
  }

  it('marks a claim with no supporting evidence, and resolves that once evidence supports it', async () => {
    const { caseId, claim } = await claimCase();
    await evolve(caseId);
    const [unsupported] = await openOf(caseId);
    expect(unsupported).toMatchObject({ kind: 'unsupported-claim', source: 'brief', subjectId: claim, sectionKey: 'key-claims', createdInVersion: 1 });
    expect(unsupported!.message).toBe('"Rents are 2000 pounds" has no supporting evidence');
    const support = await seedEvidence(database.db, { caseId, userId, text: 'An agent quotes 2000' });
    await seedLink(database.db, { caseId, evidenceId: support.id, signalId: claim, relation: 'supports' });
    const result = await evolve(caseId);
    expect(result).toMatchObject({ version: 2, annotationsCreated: 0, annotationsResolved: 1 });
    const [after] = await annotationsOf(database.db, caseId);
    expect(after).toMatchObject({ id: unsupported!.id, resolvedBy: 'evolution', resolvedInVersion: 2 });
    const [, second] = await briefEvents(database.db, caseId);
    expect(second!.payload).toMatchObject({ version: 2, annotationsResolved: { count: 1, items: [{ id: unsupported!.id, kind: 'unsupported-claim' }] } });
    // The support goes away: the evolution re-opens what it resolved itself.
    await database.db.delete(evidenceSignalLinks).where(eq(evidenceSignalLinks.evidenceId, support.id));
    expect(await evolve(caseId)).toMatchObject({ version: 3, annotationsCreated: 1 });
    expect(await openOf(caseId)).toMatchObject([{ id: unsupported!.id, createdInVersion: 3, resolvedBy: null }]);
  });

  it('says what contradicts a claim: a contradicting link, or either side of a contradiction (evidence or signal)', async () => {
    const db = database.db;
    const { caseId, claim } = await claimCase();
    const against = await seedEvidence(db, { caseId, userId, text: 'Rents are 3000 pounds' });
    await seedLink(db, { caseId, evidenceId: against.id, signalId: claim, relation: 'contradicts' });
    const otherSignal = await seedSignal(db, { caseId, type: 'risk', text: 'Rents will double' });
    await seedContradiction(db, { caseId, left: { kind: 'signal', id: otherSignal.id }, right: { kind: 'signal', id: claim } });
    await evolve(caseId);
    const contradicted = (await openOf(caseId)).filter((a) => a.kind === 'contradicted').map((a) => a.message).sort();
    expect(contradicted).toEqual([
      '"Rents are 2000 pounds" is contradicted by evidence "Rents are 3000 pounds"',
      '"Rents are 2000 pounds" is contradicted by the signal "Rents will double"',
    ]);
  });

  it('marks cited evidence older than BRIEF_STALE_EVIDENCE_DAYS, and only cited evidence', async () => {
    const db = database.db;
    const { caseId, claim } = await claimCase();
    const old = await seedEvidence(db, { caseId, userId, text: 'A survey from long ago', createdAt: new Date(Date.now() - 200 * DAY_MS) });
    await seedLink(db, { caseId, evidenceId: old.id, signalId: claim, relation: 'supports' });
    await seedEvidence(db, { caseId, userId, text: 'Old and cited nowhere', createdAt: new Date(Date.now() - 400 * DAY_MS) });
    await evolve(caseId, randomUUID(), 365);
    expect((await openOf(caseId)).map((a) => a.kind)).toEqual([]);
    await evolve(caseId, randomUUID(), 180);
    const stale = await openOf(caseId);
    expect(stale).toMatchObject([{ kind: 'stale-evidence', subjectId: old.id, sectionKey: 'evidence-for' }]);
    expect(stale[0]!.message).toMatch(/^"A survey from long ago" was recorded on \d{4}-\d{2}-\d{2}, more than 180 days ago$/);
  });

  it('never re-creates one a person resolved while its cause is unchanged; a changed cause is a new one', async () => {
    const db = database.db;
    const { caseId, claim } = await claimCase();
    const first = await seedEvidence(db, { caseId, userId, text: 'Rents are 3000 pounds' });
    await seedLink(db, { caseId, evidenceId: first.id, signalId: claim, relation: 'contradicts' });
    await evolve(caseId);
    const open = await openOf(caseId);
    expect(open.map((a) => a.kind).sort()).toEqual(['contradicted', 'unsupported-claim']);
    for (const a of open) expect(await resolveByPerson(db, caseId, a.id, new Date())).toMatchObject({ resolvedBy: 'person', resolvedInVersion: 1 });
    expect(await evolve(caseId)).toMatchObject({ version: 2, annotationsCreated: 0, annotationsResolved: 0 });
    expect(await openOf(caseId)).toEqual([]);
    expect((await annotationsOf(db, caseId)).map((a) => a.resolvedBy)).toEqual(['person', 'person']);
    // Another item contradicts the claim: another cause.
    const second = await seedEvidence(db, { caseId, userId, text: 'Rents are 3500 pounds' });
    await seedLink(db, { caseId, evidenceId: second.id, signalId: claim, relation: 'contradicts' });
    await evolve(caseId);
    expect((await openOf(caseId)).map((a) => a.message)).toEqual(['"Rents are 2000 pounds" is contradicted by evidence "Rents are 3500 pounds"']);
  });

  it('leaves a critique\'s annotations alone', async () => {
    const db = database.db;
    const { caseId } = await claimCase();
    const [critique] = await db
      .insert(briefAnnotations)
      .values({ caseId, source: 'critique', kind: 'weak-argument', causeKey: 'critique:1', sectionKey: 'key-claims', message: 'a critique', createdInVersion: 0 })
      .returning();
    await evolve(caseId);
    await evolve(caseId);
    const [row] = await db.select().from(briefAnnotations).where(eq(briefAnnotations.id, critique!.id));
    expect(row).toMatchObject({ resolvedAt: null, resolvedBy: null, message: 'a critique' });
  });
});

describe('writes', () => {
  it('writes one version and one event per evolution key, whoever repeats it', async () => {
    const caseId = await seedCase(database.db, userId);
    await seedSignal(database.db, { caseId, type: 'question', text: 'What first?' });
    const key = randomUUID();
    const first = await evolve(caseId, key);
    expect(await evolve(caseId, key)).toEqual(first);
    expect((await briefVersions(database.db, caseId)).map((b) => b.version)).toEqual([1]);
    expect(await briefEvents(database.db, caseId)).toHaveLength(1);
  });

  it('numbers concurrent evolutions of a case one after the other', async () => {
    const caseId = await seedCase(database.db, userId);
    const results = await Promise.all([evolve(caseId), evolve(caseId), evolve(caseId)]);
    expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3]);
    expect((await briefEvents(database.db, caseId)).map((e) => e.idempotencyKey)).toEqual([1, 2, 3].map((v) => `brief-evolved:${caseId}:${v}`));
  });

  it('names the sections updated since the previous version, and the window\'s changes', async () => {
    const caseId = await seedCase(database.db, userId);
    const window: BriefChanges = { total: 25, counts: { 'evidence-added': 20, 'signals-extracted': 5 }, sample: [{ kind: 'evidence-added', id: randomUUID() }] };
    expect((await activities().evolveCaseBrief({ caseId, evolutionKey: randomUUID(), changes: window })).sectionsUpdated).toHaveLength(6);
    expect((await evolve(caseId)).sectionsUpdated).toEqual([]);
    await seedSignal(database.db, { caseId, type: 'question', text: 'Lease or buy?' });
    expect((await evolve(caseId)).sectionsUpdated).toEqual(['summary', 'open-questions']);
    const [first] = await briefEvents(database.db, caseId);
    expect(first!.payload.changes).toEqual(window);
    expect((await briefVersions(database.db, caseId))[0]!.changes).toEqual(window);
  });
});

describe('narrowed retries: only transient failures are retryable', () => {
  const failureOf = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as ApplicationFailure);

  it('fails for good on bad input, a missing case, or an error of its own', async () => {
    const bad = await failureOf(activities().evolveCaseBrief({ caseId: 'not-a-uuid', evolutionKey: 'k', changes: changes() }));
    expect(bad).toMatchObject({ type: 'ValidationError', nonRetryable: true });
    expect(await failureOf(evolve(randomUUID()))).toMatchObject({ type: 'NotFound', nonRetryable: true });
    const caseId = await seedCase(database.db, userId);
    writeBrief = async () => { throw new TypeError('cannot read properties of undefined'); };
    try {
      expect(await failureOf(evolve(caseId))).toMatchObject({ type: 'BriefEvolutionFailed', nonRetryable: true });
      writeBrief = async () => { throw ApplicationFailure.create({ type: 'LlmTransient', message: 'the model answered 503' }); };
      expect(await failureOf(evolve(caseId))).toMatchObject({ type: 'LlmTransient', nonRetryable: false });
    } finally {
      writeBrief = null;
    }
    expect(await briefVersions(database.db, caseId)).toEqual([]);
  });
});
