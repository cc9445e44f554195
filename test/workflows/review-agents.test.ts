/**
 * The critique and brief agents (issue 20) through the gateway's agents route and a worker, on
 * the `local` provider and the case corpus: each writes its artifact with every citation a
 * quote found at its span in a source the run read; the critique annotates the brief (source
 * `critique`) with a case's weak claims, one-sided sourcing, missing counter-evidence and open
 * contradictions; a person resolves one through the brief's resolve route and a re-run leaves
 * it resolved; a re-run resolves what it no longer finds; each completes its placeholder and
 * emits its completion event once; a failing writing phase ends the run failed with its step
 * and AGENT_FAILED.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalBriefChanged } from '../../activities/briefs/client.js';
import { briefAnnotations, events, messages, researchSources } from '../../activities/db/schema/index.js';
import { startAgentRun } from '../../activities/agents/start.js';
import { createLlm } from '../../activities/llm/index.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { normaliseWhitespace } from '../../activities/research/grounding.js';
import { loadConfig } from '../../workers/config.js';
import { BRIEF_AGENT, CRITIQUE_AGENT } from '../../workflows/agents/catalog.js';
import { call, startApi, type ApiHarness } from '../api/harness.js';
import { briefVersions, seedContradiction, seedEvidence, seedLink, seedSignal } from '../helpers/briefs.js';
import { eventually } from '../helpers/chat.js';
import { seedDocument, TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { agentRunEnded, artifactOfRun } from '../helpers/agent-runs.js';
import { researchModel } from '../helpers/research-model.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { testQueues } from '../helpers/temporal.js';

const BRIEF = { debounceMs: 200, maxWaitMs: 1_000, idleCloseMs: 1_000, staleEvidenceDays: 180 };
const RESEARCH = { budgetTokens: 200_000, maxIterations: 2, stallRounds: 1, contextTokens: 100_000, resultsPerQuery: 5, searchTimeoutMs: 2_000 };

const PASSAGES = [
  'Rents for bakery premises near Leeds station averaged 3500 pounds a month in March 2025, according to the letting agent.',
  'A deck oven for a small bakery costs about 18000 pounds to buy, while leasing one costs 450 pounds a month over five years.',
  'Footfall near the station was 30 percent higher on Saturdays than on weekdays in a council survey of bakery customers.',
];

/** Topics whose writing phase fails for good. */
const BREAK = 'break the writing';

let h: ApiHarness;
let workers: RunningWorkers;
let openAiWorkers: RunningWorkers;
let fake: FakeOpenAi;
const model = researchModel();
const openAiQueues = testQueues('review-openai');
const local = createLocalLlm();
const llm: Llm = {
  ...local,
  async writeCritique(input, c) {
    if (input.topic.includes(BREAK)) throw ApplicationFailure.nonRetryable('the model refused to critique', 'LlmOutputInvalid');
    return local.writeCritique(input, c);
  },
  async draftBrief(input, c) {
    if (input.topic.includes(BREAK)) throw ApplicationFailure.nonRetryable('the model refused to draft', 'LlmOutputInvalid');
    return local.draftBrief(input, c);
  },
};

beforeAll(async () => {
  h = await startApi({ brief: BRIEF });
  workers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: h.queues, llm, embedder: createLocalEmbedder(TEST_DIMENSIONS), brief: BRIEF, research: RESEARCH,
  });
  fake = await startFakeOpenAi();
  fake.onChat = (body) => model.reply(body);
  const openAi = createLlm(loadConfig({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, LLM_TIMEOUT_MS: '5000' }).llm);
  openAiWorkers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: openAiQueues, llm: openAi, embedder: createLocalEmbedder(TEST_DIMENSIONS), brief: BRIEF, research: { ...RESEARCH, maxIterations: 1 },
  });
});

afterAll(async () => {
  await openAiWorkers?.stop();
  await fake?.close();
  await workers?.stop();
  await h?.close();
});

/** A case with a corpus, a claim resting on one weak item, a claim with no support, and an open contradiction. */
async function reviewedCase() {
  const db = h.database.db;
  const caseId = (await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'A second bakery in Leeds' } })).json().id as string;
  await seedDocument(db, { caseId, userId: h.alice.id, title: 'Leeds market notes' }, PASSAGES);
  const rentClaim = await seedSignal(db, { caseId, type: 'assumption', text: 'Bakery rents near Leeds station are affordable' });
  const ovenClaim = await seedSignal(db, { caseId, type: 'assumption', text: 'Leasing a bakery oven is cheaper than buying one' });
  const weak = await seedEvidence(db, { caseId, userId: h.alice.id, text: 'A letting agent said bakery rents near the station are fair.', credibility: 0.3 });
  const other = await seedEvidence(db, { caseId, userId: h.alice.id, text: 'A baker said rents near the station doubled last year.', credibility: 0.6 });
  await seedLink(db, { caseId, evidenceId: weak.id, signalId: rentClaim.id, relation: 'supports' });
  await seedContradiction(db, { caseId, left: { kind: 'evidence', id: weak.id }, right: { kind: 'evidence', id: other.id } });
  return { caseId, rentClaim, ovenClaim, weak };
}

async function startAgent(caseId: string, type: string, body: Record<string, unknown>) {
  const res = await call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/agents/${type}`, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  return res.json() as { workflowId: string; correlationId: string; placeholderMessageId: string };
}

const ended = (workflowId: string) => agentRunEnded(h.database.db, workflowId);
const artifactOf = (workflowId: string) => artifactOfRun(h.database.db, workflowId);

/** Every citation a quote found at its span in a source of this run, and cited in the markdown; at least one. */
async function expectGrounded(workflowId: string, version: { citations: { n: number; sourceId: string; quote: string; spanStart: number; spanEnd: number }[]; markdown: string }) {
  expect(version.citations.length).toBeGreaterThan(0);
  const sources = await h.database.db.select().from(researchSources).where(eq(researchSources.workflowId, workflowId));
  for (const citation of version.citations) {
    const source = sources.find((s) => s.id === citation.sourceId);
    expect(source, 'a citation names a source of this run').toBeDefined();
    expect(normaliseWhitespace(source!.text.slice(citation.spanStart, citation.spanEnd)).text).toBe(normaliseWhitespace(citation.quote).text);
    expect(version.markdown).toContain(`[${citation.n}]`);
  }
}

const critiqueNotes = (caseId: string) =>
  h.database.db.select().from(briefAnnotations).where(and(eq(briefAnnotations.caseId, caseId), eq(briefAnnotations.source, 'critique')));

const eventsOf = (caseId: string, type: 'CRITIQUE_COMPLETED' | 'BRIEF_DRAFTED' | 'AGENT_FAILED') =>
  h.database.db.select().from(events).where(and(eq(events.type, type), eq(events.caseId, caseId)));

describe('critiqueAgent', () => {
  it('writes a grounded critique and annotates the brief; a person resolves one; a re-run resolves what it no longer finds', async () => {
    const db = h.database.db;
    const { caseId, rentClaim, ovenClaim, weak } = await reviewedCase();
    const started = await startAgent(caseId, 'critique', { topic: 'bakery rents and oven costs near Leeds station' });
    expect(started.workflowId).toBe(`agent-critique-${caseId}-${started.correlationId}`);
    expect((await ended(started.workflowId)).status).toBe('completed');

    const { artifact, versions } = await artifactOf(started.workflowId);
    expect(artifact).toMatchObject({ caseId, kind: 'critique', userId: h.alice.id });
    expect(versions).toHaveLength(1);
    await expectGrounded(started.workflowId, versions[0]!);
    expect(versions[0]!.markdown).toContain('Leasing a bakery oven is cheaper than buying one');

    const notes = await critiqueNotes(caseId);
    const key = (n: (typeof notes)[number]) => `${n.kind}:${n.subjectId}`;
    expect(notes.map(key).sort()).toEqual([
      `missing-counter-evidence:${rentClaim.id}`, `one-sided-sourcing:${rentClaim.id}`, `weak-claim:${ovenClaim.id}`, `weak-claim:${rentClaim.id}`,
      `open-contradiction:${weak.id}`,
    ].sort());
    expect(notes.every((n) => n.resolvedBy === null && n.createdInVersion === 0)).toBe(true);
    expect(await eventsOf(caseId, 'CRITIQUE_COMPLETED')).toHaveLength(1);
    const [placeholder] = await db.select().from(messages).where(eq(messages.id, started.placeholderMessageId));
    expect(placeholder).toMatchObject({ status: 'complete', content: expect.stringContaining(`/v1/artifacts/${artifact!.id}`) });
    // The brief shows them beside its own.
    const brief = (await call(h.app, h.alice, { method: 'GET', url: `/v1/cases/${caseId}/brief` })).json();
    expect(brief.annotations.filter((a: { source: string }) => a.source === 'critique')).toHaveLength(5);
    // The brief's own evolution leaves them alone and carries them into its new version.
    await signalBriefChanged(h.env.client, { caseId, userId: h.alice.id }, { kind: 'evidence-added', id: randomUUID() }, {
      queues: h.queues, brief: BRIEF, deadline: Date.now() + 10_000,
    });
    await eventually(() => briefVersions(db, caseId), (versions) => versions.length === 1, 30_000);
    expect((await critiqueNotes(caseId)).map((n) => [n.id, n.resolvedBy, n.createdInVersion]).sort()).toEqual(notes.map((n) => [n.id, null, 0]).sort());
    const evolved = (await call(h.app, h.alice, { method: 'GET', url: `/v1/cases/${caseId}/brief` })).json();
    expect(evolved.version).toBe(1);
    expect(evolved.annotations.filter((a: { source: string; status: string }) => a.source === 'critique' && a.status === 'open')).toHaveLength(5);

    // A person resolves the oven claim's; then the rent claim gains strong support of a second source.
    const ovenNote = notes.find((n) => n.kind === 'weak-claim' && n.subjectId === ovenClaim.id)!;
    const resolved = await call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/brief/annotations/${ovenNote.id}/resolve` });
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json()).toMatchObject({ source: 'critique', status: 'resolved', resolvedBy: 'person' });
    const strong = await seedEvidence(db, { caseId, userId: h.alice.id, text: 'The council lists bakery rents near the station below the city average.', credibility: 0.95 });
    await seedLink(db, { caseId, evidenceId: strong.id, signalId: rentClaim.id, relation: 'supports' });

    const again = await startAgent(caseId, 'critique', {});
    expect((await ended(again.workflowId)).status).toBe('completed');
    const after = new Map((await critiqueNotes(caseId)).map((n) => [key(n), n]));
    expect(after.get(`weak-claim:${rentClaim.id}`)).toMatchObject({ resolvedBy: 'critique' });
    expect(after.get(`one-sided-sourcing:${rentClaim.id}`)).toMatchObject({ resolvedBy: 'critique' });
    expect(after.get(`weak-claim:${ovenClaim.id}`), 'a person\'s resolution sticks while its cause is unchanged').toMatchObject({ resolvedBy: 'person' });
    expect(after.get(`missing-counter-evidence:${rentClaim.id}`)).toMatchObject({ resolvedBy: null });
    expect(after.get(`open-contradiction:${weak.id}`)).toMatchObject({ resolvedBy: null });
    expect(after.size).toBe(5);
    // The second run's topic is the case's title; its artifact is its own.
    const second = await artifactOf(again.workflowId);
    expect(second.versions[0]!.markdown).toContain('# Critique: A second bakery in Leeds');
    expect(second.versions[0]!.metadata).toMatchObject({ annotations: { resolved: 2, open: 2 } });
    expect(await eventsOf(caseId, 'CRITIQUE_COMPLETED')).toHaveLength(2);
  });

  it('fails with the step that failed and emits AGENT_FAILED once', async () => {
    const { caseId } = await reviewedCase();
    const started = await startAgent(caseId, 'critique', { topic: `bakery rents ${BREAK}`, maxIterations: 1 });
    const row = await ended(started.workflowId);
    expect(row).toMatchObject({ status: 'failed', error: expect.stringContaining('critique') });
    const [placeholder] = await h.database.db.select().from(messages).where(eq(messages.id, started.placeholderMessageId));
    expect(placeholder).toMatchObject({ status: 'failed', content: expect.stringContaining('step "critique"') });
    expect(placeholder!.content).toContain('the model refused to critique');
    expect(await eventsOf(caseId, 'AGENT_FAILED')).toHaveLength(1);
    expect(await critiqueNotes(caseId)).toEqual([]);
  });
});

describe('briefAgent', () => {
  it('drafts a full cited brief of the case, its topic the case\'s title, recorded as an artifact version', async () => {
    const { caseId } = await reviewedCase();
    const started = await startAgent(caseId, 'brief', {});
    expect(started.workflowId).toBe(`agent-brief-${caseId}-${started.correlationId}`);
    expect((await ended(started.workflowId)).status).toBe('completed');
    const { artifact, versions } = await artifactOf(started.workflowId);
    expect(artifact).toMatchObject({ caseId, kind: 'brief', title: 'Brief: A second bakery in Leeds' });
    expect(versions.map((v) => v.version)).toEqual([1]);
    await expectGrounded(started.workflowId, versions[0]!);
    for (const section of ['## Summary', '## Key claims', '## Evidence for', '## Evidence against', '## Open questions', '## Risks']) {
      expect(versions[0]!.markdown).toContain(section);
    }
    expect(versions[0]!.markdown).toContain('Bakery rents near Leeds station are affordable');
    expect(await eventsOf(caseId, 'BRIEF_DRAFTED')).toHaveLength(1);
    expect(await critiqueNotes(caseId), 'a brief annotates nothing').toEqual([]);
  });

  it('fails with the step that failed and emits AGENT_FAILED once', async () => {
    const { caseId } = await reviewedCase();
    const started = await startAgent(caseId, 'brief', { topic: `bakery rents ${BREAK}`, maxIterations: 1 });
    const row = await ended(started.workflowId);
    expect(row).toMatchObject({ status: 'failed', error: expect.stringContaining('brief') });
    const [placeholder] = await h.database.db.select().from(messages).where(eq(messages.id, started.placeholderMessageId));
    expect(placeholder).toMatchObject({ status: 'failed', content: expect.stringContaining('step "brief"') });
    expect(await eventsOf(caseId, 'AGENT_FAILED')).toHaveLength(1);
    expect((await artifactOf(started.workflowId)).versions).toEqual([]);
  });
});

describe('over the OpenAI-compatible path (the fake server)', () => {
  it('each writes its report through its purpose: a citation it was not given is removed and counted; the critique still annotates by rule', async () => {
    const { caseId } = await reviewedCase();
    for (const [descriptor, schema] of [[CRITIQUE_AGENT, 'critique_report'], [BRIEF_AGENT, 'brief_document']] as const) {
      const handed = await startAgentRun(
        { db: h.database.db, temporal: h.env.client, queues: openAiQueues },
        { descriptor, userId: h.alice.id, caseId, topic: 'bakery rents near Leeds station', correlationId: randomUUID() },
      );
      expect((await ended(handed.row.workflowId)).status).toBe('completed');
      const { artifact, versions } = await artifactOf(handed.row.workflowId);
      expect(artifact!.kind).toBe(descriptor.type);
      await expectGrounded(handed.row.workflowId, versions[0]!);
      expect(versions[0]!.citations.map((c) => c.n)).toEqual([1]);
      expect(versions[0]!.metadata).toMatchObject({ invalidCitations: 1 });
      expect(versions[0]!.markdown).not.toContain('[99]');
      expect(model.calls[schema]).toBeGreaterThan(0);
    }
    expect((await critiqueNotes(caseId)).length).toBe(5);
  });
});
