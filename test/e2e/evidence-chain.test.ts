/**
 * Issue 17 end to end, through the gateway on the real stack (the gateway as `buildApp`
 * builds it, the real workers and activities in process, the run's Temporal dev server, the
 * file's own database), with the `local` providers: a thread's chat yields signals, the thread
 * joins a case, evidence submitted to the case links to those signals, two conflicting items
 * make one contradiction, the brief evolves with sections, grounding and annotations, a
 * document's completion adds evidence that search finds by kind.
 *
 * It also times the chain the seed quotes at 10-30 s (evidence POST → the BRIEF_EVOLVED it
 * causes) with the default 10 s quiet window and with a short one, and prints it
 * (`[evidence-chain]`); only a generous bound is asserted, never a time.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { contradictions, events } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { BRIEF_DEFAULTS, type BriefConfig } from '../../workers/config.js';
import { workflowIds, type QueueNames } from '../../workflows/types.js';
import { call, startApi, type ApiHarness } from '../api/harness.js';
import { eventually } from '../helpers/chat.js';
import { TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { testQueues } from '../helpers/temporal.js';

/** A short quiet window: the scenario's brief evolves within a second of its last change. */
const SHORT: BriefConfig = { debounceMs: 500, maxWaitMs: 3_000, idleCloseMs: 120_000, staleEvidenceDays: 180 };
/** Generous: the window itself, plus ingestion and an evolution on two busy cores. */
const CHAIN_BOUND_MS = 30_000;
const SETTLE_MS = 60_000;

interface Stack {
  app: FastifyInstance;
  queues: QueueNames;
  windows: BriefConfig;
}

let h: ApiHarness;
let short: Stack;
let standard: Stack;
const workers: RunningWorkers[] = [];
const toTerminate: string[] = [];

beforeAll(async () => {
  h = await startApi();
  const embedder = createLocalEmbedder(TEST_DIMENSIONS);
  // The gateway's own config starts a brief with the defaults; the sibling with the short window.
  standard = { app: h.app, queues: h.queues, windows: BRIEF_DEFAULTS };
  const shortQueues = testQueues('chain-short');
  short = { app: await h.buildSibling({ config: { queues: shortQueues, brief: SHORT } }), queues: shortQueues, windows: SHORT };
  workers.push(await startTestWorkers({ env: h.env, db: h.database.db, queues: standard.queues, embedder }));
  workers.push(await startTestWorkers({ env: h.env, db: h.database.db, queues: short.queues, embedder, brief: SHORT }));
}, 180_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const id of toTerminate) await h?.env.client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await h?.close();
});

async function api<T>(s: Stack, method: 'GET' | 'POST', url: string, payload?: object, expected?: number): Promise<T> {
  const res = await call(s.app, h.alice, { method, url, ...(payload ? { payload } : {}) });
  if (expected !== undefined) expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(expected);
  return res.json<T>();
}

interface Evidence {
  id: string;
  status: string;
  error: string | null;
  documentId: string | null;
  source: string;
  links: { signalId: string; relation: string }[];
  contradictions: { kind: string; id: string }[];
}
interface Brief {
  version: number;
  grounding: number;
  sections: { key: string; grounding: number; items: { kind: string; id: string; grounding?: number }[] }[];
  changes: { total: number; sample: { kind: string; id: string }[] };
  annotations: { kind: string; subjectId: string | null; status: string }[];
}

async function newCase(s: Stack, title: string): Promise<string> {
  const { id } = await api<{ id: string }>(s, 'POST', '/v1/cases', { title, description: 'Where to open it, and what it costs.' }, 201);
  toTerminate.push(workflowIds.evolveBrief(id));
  return id;
}

const submit = async (s: Stack, caseId: string, text: string) =>
  (await api<{ evidence: Evidence }>(s, 'POST', `/v1/cases/${caseId}/evidence`, { text }, 202)).evidence.id;

const settled = (s: Stack, id: string) =>
  eventually(() => api<Evidence>(s, 'GET', `/v1/evidence/${id}`), (e) => e.status === 'completed' || e.status === 'failed', SETTLE_MS);

const brief = (s: Stack, caseId: string) => api<Brief>(s, 'GET', `/v1/cases/${caseId}/brief`, undefined, 200);
const itemsOf = (b: Brief, key: string) => b.sections.find((x) => x.key === key)?.items.map((i) => i.id) ?? [];

/** When (ms since epoch, the database's clock) the case's event of `type` naming `id` committed, once it has. */
async function eventAt(caseId: string, type: 'EVIDENCE_ADDED' | 'BRIEF_EVOLVED', id: string): Promise<number | undefined> {
  const naming = type === 'EVIDENCE_ADDED' ? sql`${events.payload}->>'evidenceId' = ${id}` : sql`${events.payload}->'changes'->'sample' @> ${JSON.stringify([{ id }])}::jsonb`;
  const [row] = await h.database.db
    .select({ at: events.createdAt })
    .from(events)
    .where(and(eq(events.caseId, caseId), eq(events.type, type), naming))
    .orderBy(events.id)
    .limit(1);
  return row?.at.getTime();
}

/** Evidence POST → its EVIDENCE_ADDED → the BRIEF_EVOLVED that counts it; printed, bounded. */
async function timeChain(s: Stack, caseId: string, text: string, what: string): Promise<void> {
  const postedAt = Date.now();
  const id = await submit(s, caseId, text);
  const evolvedAt = await eventually(() => eventAt(caseId, 'BRIEF_EVOLVED', id), (at) => at !== undefined, CHAIN_BOUND_MS + s.windows.debounceMs);
  const addedAt = (await eventAt(caseId, 'EVIDENCE_ADDED', id))!;
  const seconds = (at: number) => ((at - postedAt) / 1000).toFixed(2);
  console.log(
    `[evidence-chain] quiet window ${s.windows.debounceMs} ms, ${what}: POST → EVIDENCE_ADDED ${seconds(addedAt)} s, → BRIEF_EVOLVED ${seconds(evolvedAt!)} s ` +
      `(beyond the window: ${((evolvedAt! - postedAt - s.windows.debounceMs) / 1000).toFixed(2)} s)`,
  );
  expect(evolvedAt! - postedAt).toBeLessThan(s.windows.debounceMs + CHAIN_BOUND_MS);
}

describe('evidence, signals, contradictions and the brief, through the gateway', () => {
  it('a thread with signals joins a case; evidence links to them; a contradiction; the brief evolves; a document adds evidence that search finds', async () => {
    const s = short;
    const caseId = await newCase(s, 'A second bakery in Leeds');
    const { id: threadId } = await api<{ id: string }>(s, 'POST', '/v1/threads', { title: 'Planning the second shop' }, 201);
    toTerminate.push(workflowIds.conversation(threadId));
    await api(s, 'POST', `/v1/threads/${threadId}/messages`, {
      content: 'We assume rents near the station are about 2000 pounds a month. We expect the landlord will renew the lease for five years. Our goal is to open a second bakery in Leeds next spring.',
    }, 202);
    type Signals = { signals: { id: string; type: string; text: string }[] };
    const { signals } = await eventually(() => api<Signals>(s, 'GET', `/v1/threads/${threadId}/signals`), (r) => r.signals.length >= 3, SETTLE_MS);
    const signalOf = (words: string) => signals.find((x) => x.text.includes(words))!;
    const [rent, lease] = [signalOf('rents near the station'), signalOf('renew the lease')];
    expect([rent.type, lease.type]).toEqual(['assumption', 'assumption']);
    await api(s, 'POST', `/v1/threads/${threadId}/case`, { caseId }, 200);

    // Evidence links to the joined thread's signals; two items that conflict make one contradiction.
    const ids = {
      rent: await submit(s, caseId, 'Rents near the station are 3500 pounds a month, the letting agent wrote.'),
      lease: await submit(s, caseId, 'The landlord will renew the lease, the letter says.'),
      sell: await submit(s, caseId, 'The landlord will sell the bakery building this year.'),
      keep: await submit(s, caseId, 'The landlord will not sell the bakery building, his agent says.'),
    };
    const items = Object.fromEntries(await Promise.all(Object.entries(ids).map(async ([k, id]) => [k, await settled(s, id)] as const)));
    for (const item of Object.values(items)) expect({ status: item.status, error: item.error }).toEqual({ status: 'completed', error: null });
    expect(items.rent!.links).toContainEqual(expect.objectContaining({ signalId: rent.id, relation: 'contradicts' }));
    expect(items.lease!.links).toContainEqual(expect.objectContaining({ signalId: lease.id, relation: 'supports' }));
    // Each side shows it; the case records the pair once.
    expect(items.sell!.contradictions.filter((c) => c.id === ids.keep)).toEqual([expect.objectContaining({ kind: 'evidence' })]);
    expect(items.keep!.contradictions.filter((c) => c.id === ids.sell)).toEqual([expect.objectContaining({ kind: 'evidence' })]);
    const [left, right] = [ids.sell, ids.keep].sort();
    const pair = await h.database.db.select().from(contradictions).where(and(eq(contradictions.leftId, left!), eq(contradictions.rightId, right!)));
    expect(pair).toHaveLength(1);

    // The brief evolves over all of it: sections, grounding, annotations.
    const evolved = await eventually(
      () => brief(s, caseId),
      (b) => itemsOf(b, 'evidence-for').includes(ids.lease) && [ids.rent, ids.sell, ids.keep].every((id) => itemsOf(b, 'evidence-against').includes(id)),
      SETTLE_MS,
    );
    expect(evolved.version).toBeGreaterThanOrEqual(1);
    expect(evolved.sections.map((x) => x.key)).toEqual(['summary', 'key-claims', 'evidence-for', 'evidence-against', 'open-questions', 'risks']);
    expect(itemsOf(evolved, 'key-claims')).toEqual(expect.arrayContaining([rent.id, lease.id]));
    expect(itemsOf(evolved, 'summary')).toContain(signalOf('goal').id);
    const claim = (id: string) => evolved.sections.find((x) => x.key === 'key-claims')!.items.find((i) => i.id === id)!;
    expect(claim(lease.id).grounding).toBeGreaterThan(0);
    expect(claim(rent.id).grounding).toBe(0);
    expect(evolved.grounding).toBeGreaterThan(0);
    expect(evolved.grounding).toBeLessThanOrEqual(1);
    expect(evolved.annotations).toContainEqual(expect.objectContaining({ kind: 'contradicted', subjectId: rent.id, status: 'open' }));
    expect(evolved.annotations).toContainEqual(expect.objectContaining({ kind: 'unsupported-claim', subjectId: rent.id, status: 'open' }));
    const summary = await api<{ brief: { version: number; openAnnotations: number } | null }>(s, 'GET', `/v1/cases/${caseId}`, undefined, 200);
    expect(summary.brief?.version).toBeGreaterThanOrEqual(evolved.version);
    expect(summary.brief?.openAnnotations).toBeGreaterThan(0);

    // Chat in the case's thread: step 3 says the evidence contradicts the assumption, once;
    // the signals extracted from the new message reach the brief.
    await api(s, 'POST', `/v1/threads/${threadId}/messages`, { content: 'There is a risk that the oven supplier might fail to deliver on time.' }, 202);
    type Messages = { messages: { role: string; content: string; status: string }[] };
    const said = (r: Messages) => r.messages.filter((m) => m.role === 'system' && m.content.startsWith('Evidence in this case contradicts the assumption'));
    const thread = await eventually(() => api<Messages>(s, 'GET', `/v1/threads/${threadId}/messages`), (r) => said(r).length > 0 && r.messages.filter((m) => m.role === 'assistant').every((m) => m.status === 'complete'), SETTLE_MS);
    expect(said(thread)).toHaveLength(1);
    expect(said(thread)[0]!.content).toContain(rent.text);
    const withRisk = await eventually(() => brief(s, caseId), (b) => itemsOf(b, 'risks').length > 0, SETTLE_MS);
    expect(withRisk.version).toBeGreaterThan(evolved.version);

    // A document uploaded to the case completes and gives evidence, found by kind.
    const uploaded = await api<{ document: { id: string } }>(s, 'POST', `/v1/cases/${caseId}/documents`, {
      title: 'Footfall survey',
      contentType: 'text/markdown',
      content: '# Footfall near the station\n\nThe quokkafootfall survey found that 64 percent of commuters buy bread near the station every week.\n\nThe council plans a second tram stop by 2027.',
    }, 202);
    const documentId = uploaded.document.id;
    const doc = await eventually(() => api<{ processingStatus: string }>(s, 'GET', `/v1/documents/${documentId}`), (d) => d.processingStatus !== 'pending' && d.processingStatus !== 'processing', SETTLE_MS);
    expect(doc.processingStatus).toBe('completed');
    const fromDocument = await eventually(
      async () => (await api<{ evidence: Evidence[] }>(s, 'GET', `/v1/cases/${caseId}/evidence`)).evidence.filter((e) => e.documentId === documentId),
      (list) => list.length > 0 && list.every((e) => e.status === 'completed'),
      SETTLE_MS,
    );
    expect(fromDocument.every((e) => e.source === 'document')).toBe(true);
    type Passages = { passages: { kind: string; evidenceId?: string; documentId?: string | null }[] };
    const found = await api<Passages>(s, 'GET', `/v1/cases/${caseId}/search?q=quokkafootfall&kind=evidence`, undefined, 200);
    expect(found.passages.length).toBeGreaterThan(0);
    expect(found.passages.every((p) => p.kind === 'evidence')).toBe(true);
    expect(found.passages[0]).toMatchObject({ documentId });
    expect(fromDocument.map((e) => e.id)).toContain(found.passages[0]!.evidenceId);

    // The brief was told of the attach, every item and the document (its sections alone would
    // not say so: any evolution recomputes them from the rows); the chain is timed after.
    for (const id of [threadId, ...Object.values(ids), documentId, ...fromDocument.map((e) => e.id)]) {
      await expect.poll(() => eventAt(caseId, 'BRIEF_EVOLVED', id), { timeout: SETTLE_MS, message: `a BRIEF_EVOLVED counting the change of ${id}` }).toBeDefined();
    }
    await timeChain(s, caseId, 'Bakeries near the station sell out of bread by 2 pm, the baker association says.', 'an item in a case whose brief runs');
  }, 240_000);

  it('times evidence POST → BRIEF_EVOLVED with the default 10 s window and a short one', async () => {
    for (const s of [standard, short]) {
      const caseId = await newCase(s, `Chain timing, window ${s.windows.debounceMs} ms`);
      await timeChain(s, caseId, 'Rents near the station are 3500 pounds a month, the letting agent wrote.', 'the first item of a case (its brief run starts)');
      await timeChain(s, caseId, 'The landlord will renew the lease for five years, the letter says.', 'a second item (its brief run waiting)');
    }
  }, 180_000);
});
