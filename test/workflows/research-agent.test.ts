/**
 * The research agent (issue 19) through the gateway and a worker, on the `local` provider and
 * the case corpus: an artifact whose every citation is a quote found at its span in a source
 * this run read, findings of relevance ≥ 0.6 as evidence (ingested by their own runs), the
 * placeholder ending complete with the link, progress rows, RESEARCH_COMPLETED once; with
 * nothing to search the artifact says so; the loop's ends (max iterations, budget, stall); the
 * grounding gate dropping an invented source and a quote not in its source; the trajectory on
 * and off; a failing phase ending the run failed with its step and AGENT_FAILED.
 */
import { ApplicationFailure } from '@temporalio/common';
import { llmFailure } from '../../activities/llm/errors.js';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  budgetReservations, events, evidence, messages, researchFindings, researchSources, researchSteps, runProgress, tokenLedger,
} from '../../activities/db/schema/index.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { normaliseWhitespace } from '../../activities/research/grounding.js';
import { call, startApi, type ApiHarness } from '../api/harness.js';
import { agentRunEnded, artifactOfRun } from '../helpers/agent-runs.js';
import { eventually } from '../helpers/chat.js';
import { seedDocument, seedEvidence, TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';

const BRIEF = { debounceMs: 200, maxWaitMs: 1_000, idleCloseMs: 1_000, staleEvidenceDays: 180 };
const RESEARCH = { budgetTokens: 200_000, maxIterations: 3, stallRounds: 1, contextTokens: 100_000, resultsPerQuery: 5, searchTimeoutMs: 2_000 };

const PASSAGES = [
  'Rents for bakery premises near Leeds station averaged 3500 pounds a month in March 2025, according to the letting agent.',
  'A deck oven for a small bakery costs about 18000 pounds to buy, while leasing one costs 450 pounds a month over five years.',
  'Footfall near the station was 30 percent higher on Saturdays than on weekdays in a council survey of bakery customers.',
  'The weather was mild last spring and the parks were busy with families.',
];

let h: ApiHarness;
let workers: RunningWorkers;
/** Topics whose extraction also invents a finding from a source never shown, and one quoting words its source lacks. */
const INVENT = 'invent';
/** Topics whose synthesis fails for good. */
const BREAK = 'break the synthesis';
/** Topics whose first extraction meets a transient error (a 429): retried, not failed. */
const FLAKY = 'flaky extraction';
const flakyCalls = new Map<string, number>();
let brokenSyntheses = 0;

const local = createLocalLlm();
const llm: Llm = {
  ...local,
  async extractFindings(input, c) {
    if (input.topic.includes(FLAKY)) {
      const n = (flakyCalls.get(input.topic) ?? 0) + 1;
      flakyCalls.set(input.topic, n);
      if (n === 1) throw llmFailure('LlmTransient', 'LLM API rate limited (429)');
    }
    const found = await local.extractFindings(input, c);
    if (!input.topic.includes(INVENT) || input.sources.length === 0) return found;
    return [
      ...found,
      { source: 99, quote: 'a source never retrieved', claim: 'Invented: cite source 99', relevance: 0.99 },
      { source: 1, quote: 'Rents near the station fell to 900 pounds a month.', claim: 'Invented quote', relevance: 0.99 },
    ];
  },
  async synthesizeResearch(input, c) {
    if (input.topic.includes(BREAK)) brokenSyntheses++;
    if (input.topic.includes(BREAK)) throw ApplicationFailure.nonRetryable('the model refused to write', 'LlmOutputInvalid');
    return local.synthesizeResearch(input, c);
  },
};

async function caseWithCorpus(): Promise<string> {
  const caseId = (await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'A second bakery in Leeds' } })).json().id as string;
  await seedDocument(h.database.db, { caseId, userId: h.alice.id, title: 'Leeds market notes' }, PASSAGES);
  return caseId;
}

async function research(caseId: string, body: Record<string, unknown>) {
  const res = await call(h.app, h.alice, { method: 'POST', url: `/v1/cases/${caseId}/research`, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  return res.json() as { workflowId: string; correlationId: string; placeholderMessageId: string };
}

const ended = (workflowId: string) => agentRunEnded(h.database.db, workflowId);
const artifactOf = (workflowId: string) => artifactOfRun(h.database.db, workflowId);

beforeAll(async () => {
  h = await startApi({ brief: BRIEF });
  workers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: h.queues, llm, embedder: createLocalEmbedder(TEST_DIMENSIONS), brief: BRIEF, research: RESEARCH,
  });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

describe('researchAgent', () => {
  it('writes an artifact citing only quotes found in sources it read, feeds evidence, and completes its placeholder', async () => {
    const caseId = await caseWithCorpus();
    // Evidence with a passage's words, as a document's evidence is cut from its chunks: two sources, one finding.
    await seedEvidence(h.database.db, { caseId, userId: h.alice.id }, PASSAGES[0]!);
    const started = await research(caseId, { topic: 'bakery rents and oven costs near Leeds station' });
    expect(started.workflowId).toBe(`research-${caseId}-${started.correlationId}`);
    expect((await ended(started.workflowId)).status).toBe('completed');

    const { artifact, versions } = await artifactOf(started.workflowId);
    expect(artifact).toMatchObject({ caseId, kind: 'research', userId: h.alice.id });
    expect(versions).toHaveLength(1);
    const [version] = versions;
    expect(version!.citations.length).toBeGreaterThan(0);
    const sources = await h.database.db.select().from(researchSources).where(eq(researchSources.workflowId, started.workflowId));
    for (const citation of version!.citations) {
      const source = sources.find((s) => s.id === citation.sourceId);
      expect(source, 'a citation names a source of this run').toBeDefined();
      expect(normaliseWhitespace(source!.text.slice(citation.spanStart, citation.spanEnd)).text).toBe(normaliseWhitespace(citation.quote).text);
      expect(version!.markdown).toContain(`[${citation.n}]`);
    }
    // The weather passage shares no word with the topic: no finding, no citation.
    expect(version!.markdown).not.toContain('weather');

    const findings = await h.database.db.select().from(researchFindings).where(eq(researchFindings.workflowId, started.workflowId));
    const strong = findings.filter((f) => f.relevance >= 0.6);
    expect(strong.length).toBeGreaterThan(0);
    expect(findings.map((f) => f.quote), 'each quote one finding, whichever sources hold it').toEqual([...new Set(findings.map((f) => f.quote))]);
    expect(findings.some((f) => f.quote === PASSAGES[0])).toBe(true);
    const items = await eventually(
      () => h.database.db.select().from(evidence).where(and(eq(evidence.caseId, caseId), eq(evidence.source, 'research'))),
      (rows) => rows.length > 0 && rows.every((r) => r.status === 'completed'),
      60_000,
    );
    expect(items.map((i) => i.text).sort()).toEqual([...new Set(strong.map((f) => f.quote))].sort());

    const [placeholder] = await h.database.db.select().from(messages).where(eq(messages.id, started.placeholderMessageId));
    expect(placeholder).toMatchObject({ status: 'complete' });
    expect(placeholder!.content).toContain(`/v1/artifacts/${artifact!.id}`);
    const completedEvents = await h.database.db.select().from(events).where(and(eq(events.type, 'RESEARCH_COMPLETED'), eq(events.caseId, caseId)));
    expect(completedEvents).toHaveLength(1);
    const steps = (await h.database.db.select().from(runProgress).where(eq(runProgress.workflowId, started.workflowId))).map((r) => r.payload.step);
    expect(steps).toEqual(expect.arrayContaining(['plan', 'search', 'extract', 'evaluate', 'evidence', 'synthesize']));
    // The trajectory is opt-in.
    expect(await h.database.db.select().from(researchSteps).where(eq(researchSteps.workflowId, started.workflowId))).toEqual([]);
    // Every call's reservation was settled with its ledger row.
    expect(await h.database.db.select().from(budgetReservations).where(eq(budgetReservations.workflowId, started.workflowId))).toEqual([]);
  });

  it('says plainly that nothing could be searched when the case has no corpus and no search service is set', async () => {
    const caseId = (await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'Empty' } })).json().id as string;
    const started = await research(caseId, { topic: 'anything at all' });
    expect((await ended(started.workflowId)).status).toBe('completed');
    const { versions } = await artifactOf(started.workflowId);
    expect(versions[0]!.metadata).toMatchObject({ stopReason: 'nothing_searched', providers: [] });
    expect(versions[0]!.markdown).toContain('Nothing could be searched');
    expect(versions[0]!.citations).toEqual([]);
  });

  it('stops after maxIterations rounds, and records the trajectory when asked', async () => {
    const caseId = await caseWithCorpus();
    const started = await research(caseId, { topic: 'bakery oven leasing costs', maxIterations: 1, recordTrajectory: true });
    expect((await ended(started.workflowId)).status).toBe('completed');
    const { versions } = await artifactOf(started.workflowId);
    expect(versions[0]!.metadata).toMatchObject({ iterations: 1 });
    expect(['max_iterations', 'answered', 'stalled']).toContain(versions[0]!.metadata.stopReason);
    const steps = await h.database.db.select().from(researchSteps).where(eq(researchSteps.workflowId, started.workflowId));
    expect(steps.map((s) => `${s.phase}:${s.iteration}`).sort()).toEqual(['evaluate:1', 'evidence:1', 'extract:1', 'plan:0', 'search:1', 'synthesize:2']);
    expect(steps.find((s) => s.phase === 'search')!.sourceIds.length).toBeGreaterThan(0);
  });

  it('goes straight to the synthesis when the next phase would pass the budget', async () => {
    const caseId = await caseWithCorpus();
    const started = await research(caseId, { topic: 'bakery rents near Leeds station', budgetTokens: 1_500 });
    expect((await ended(started.workflowId)).status).toBe('completed');
    const { versions } = await artifactOf(started.workflowId);
    expect(versions[0]!.metadata).toMatchObject({ stopReason: 'budget_exhausted', iterations: 0 });
    expect(versions[0]!.markdown).toContain('budget_exhausted');
  });

  it('a call the budget refuses (its reservation would pass it) is the same wrap-up: budget_exhausted, no reservation left open', async () => {
    const caseId = await caseWithCorpus();
    // The plan's 1 000 plus the synthesis's 3 000 kept: more than 3 500, so the plan's call is refused before it runs.
    const started = await research(caseId, { topic: 'bakery rents near Leeds station', budgetTokens: 3_500 });
    expect((await ended(started.workflowId)).status).toBe('completed');
    const { versions } = await artifactOf(started.workflowId);
    expect(versions[0]!.metadata).toMatchObject({ stopReason: 'budget_exhausted', iterations: 0 });
    const ledger = await h.database.db.select({ purpose: tokenLedger.purpose }).from(tokenLedger).where(eq(tokenLedger.workflowId, started.workflowId));
    expect(ledger.map((r) => r.purpose)).toEqual(['research-synthesize']);
    expect(await h.database.db.select().from(budgetReservations).where(eq(budgetReservations.workflowId, started.workflowId))).toEqual([]);
  });

  it('ends early when a round finds nothing new (stalled)', async () => {
    const caseId = await caseWithCorpus();
    const started = await research(caseId, { topic: 'bakery rents near Leeds station', maxIterations: 10 });
    expect((await ended(started.workflowId)).status).toBe('completed');
    const { versions } = await artifactOf(started.workflowId);
    // Four passages: a second round finds them all again, nothing new: stalled (stallRounds 1) or answered, never 10 rounds.
    expect(['stalled', 'answered']).toContain(versions[0]!.metadata.stopReason);
    expect(versions[0]!.metadata.iterations as number).toBeLessThan(10);
  });

  it('drops a finding that cites a source never retrieved and one whose quote is not in its source', async () => {
    const caseId = await caseWithCorpus();
    const started = await research(caseId, { topic: `bakery rents near Leeds station ${INVENT}`, maxIterations: 1 });
    expect((await ended(started.workflowId)).status).toBe('completed');
    const { versions } = await artifactOf(started.workflowId);
    expect(versions[0]!.metadata.dropped).toEqual({ 'unknown-source': 1, 'quote-not-in-source': 1 });
    const findings = await h.database.db.select().from(researchFindings).where(eq(researchFindings.workflowId, started.workflowId));
    expect(findings.map((f) => f.claim)).not.toContain('Invented quote');
    expect(findings.length).toBeGreaterThan(0);
    expect(versions[0]!.markdown).not.toContain('900 pounds');
    const fromResearch = await h.database.db.select().from(evidence).where(and(eq(evidence.caseId, caseId), eq(evidence.source, 'research')));
    expect(fromResearch.map((e) => e.text)).not.toContain('Rents near the station fell to 900 pounds a month.');
  });

  it('retries a phase that met a transient error and completes; a permanent one fails at once (below)', async () => {
    const caseId = await caseWithCorpus();
    const topic = `bakery rents ${FLAKY}`;
    const started = await research(caseId, { topic, maxIterations: 1 });
    expect((await ended(started.workflowId)).status).toBe('completed');
    // The first attempt met the 429; the retry extracted (one round: one more call).
    expect(flakyCalls.get(topic)).toBe(2);
    const findings = await h.database.db.select().from(researchFindings).where(eq(researchFindings.workflowId, started.workflowId));
    expect(findings.length).toBeGreaterThan(0);
  });

  it('fails with the step that failed, keeps its findings, and emits AGENT_FAILED once', async () => {
    const caseId = await caseWithCorpus();
    const started = await research(caseId, { topic: `bakery rents ${BREAK}`, maxIterations: 1 });
    const row = await ended(started.workflowId);
    expect(row).toMatchObject({ status: 'failed' });
    expect(row.error).toContain('synthesize');
    // A permanent error is not retried: one call.
    expect(brokenSyntheses).toBe(1);
    const [placeholder] = await h.database.db.select().from(messages).where(eq(messages.id, started.placeholderMessageId));
    expect(placeholder).toMatchObject({ status: 'failed' });
    expect(placeholder!.content).toContain('step "synthesize"');
    expect(placeholder!.content).toContain('the model refused to write');
    const failed = await h.database.db.select().from(events).where(and(eq(events.type, 'AGENT_FAILED'), eq(events.caseId, caseId)));
    expect(failed).toHaveLength(1);
    expect(await h.database.db.select().from(researchFindings).where(eq(researchFindings.workflowId, started.workflowId))).not.toEqual([]);
  });
});
