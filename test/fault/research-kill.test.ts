/**
 * Fault test of the research pipelines (issue 19, the critique agent of issue 20, the Phase 2B
 * inquiries): one SIGKILL of the worker while five runs on the `research` queue are each between
 * a commit and its report (test/fault/agents-worker-process.ts holds them there):
 * - a research run whose round-1 extraction committed its findings;
 * - a critique run whose writing phase committed the artifact and its annotations
 *   (`critiqueAgent`, workflows/research/review-agents.ts; briefAgent shares every step but it);
 * - the three kinds of an inquiry, each having committed its document (its row, its version's
 *   link, RESEARCH_COMPLETED).
 * A new worker finishes all five: the dead attempts are noticed by their heartbeat timeouts and
 * retried. Every phase that had completed before the kill ran once, counted at the fake OpenAI
 * server (which sees every call, a killed attempt's too); a retried phase finds what it stored:
 * one artifact version each, one completion event each, each finding's evidence once, each
 * inquiry kind one document, made searchable, with its three events once under its own id.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgentRun } from '../../activities/agents/start.js';
import {
  agentRuns, artifacts, artifactVersions, briefAnnotations, documents, events, evidence, inquiries, inquiryDocuments, INQUIRY_KINDS, researchFindings,
} from '../../activities/db/schema/index.js';
import { startInquiry } from '../../activities/inquiries/start.js';
import { CRITIQUE_AGENT, RESEARCH_AGENT } from '../../workflows/agents/catalog.js';
import type { InquiryResult, ResearchResult, ReviewResult } from '../../workflows/types.js';
import { seedEvidence, seedLink, seedSignal } from '../helpers/briefs.js';
import { eventually } from '../helpers/chat.js';
import { killChild, stopChild, waitFor, type Child } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { researchModel } from '../helpers/research-model.js';
import { seedDocument } from '../helpers/retrieval.js';
import { startAgentsWorker, startFaultStack, faultBundleFile, type FaultStack } from './harness.js';

let database: TestDatabase;
let stack: FaultStack;
let fake: FakeOpenAi;
let bundlePath: string;
const children: Child[] = [];
const model = researchModel();

beforeAll(async () => {
  database = await createTestDatabase();
  stack = await startFaultStack({ label: 'research-kill', temporalAddress: inject('temporalAddress'), databaseUrl: database.url });
  fake = await startFakeOpenAi();
  fake.onChat = (body) => model.reply(body);
  bundlePath = await faultBundleFile('research');
});

afterAll(async () => {
  for (const child of children) await stopChild(child, 5_000);
  await fake?.close();
  await stack?.close();
  await database?.drop();
});

/**
 * Each hold lasts longer than the five runs take to reach theirs: the kill, not the hold's end,
 * ends them. The inquiries run research's extraction too, so it is held in research's runs only.
 */
const HOLDS = 'researchExtract@research-:60000,critiqueWrite:60000,writeInquiryDocument:60000';

function startWorker(holds: string | undefined): Promise<Child> {
  return startAgentsWorker({
    name: `research worker #${children.length + 1}`, stack, temporalAddress: inject('temporalAddress'), databaseUrl: database.url, bundlePath, holds, children,
    env: {
      LLM_PROVIDER: 'openai', EMBEDDING_PROVIDER: 'local', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, LLM_MODEL: 'gpt-test',
      RESEARCH_MAX_ITERATIONS: '3', RESEARCH_STALL_ROUNDS: '2',
    },
    unset: ['RESEARCH_SEARCH_URL'],
  });
}

const commits = (child: Child, activity: string) => child.output().split(`fault: ${activity} committed`).length - 1;

async function startResearch(): Promise<{ caseId: string; workflowId: string }> {
  const caseId = await seedCase(stack.db, stack.userId);
  await seedDocument(stack.db, { caseId, userId: stack.userId, title: 'Station notes' }, [
    'Bakery rents near the station averaged 3500 pounds a month in March 2025.',
    'Leasing a deck oven costs 450 pounds a month over five years for a small bakery.',
  ]);
  const handed = await startAgentRun(
    { db: stack.db, temporal: stack.client, queues: stack.queues },
    { descriptor: RESEARCH_AGENT, userId: stack.userId, caseId, topic: 'bakery rents near the station', correlationId: randomUUID() },
  );
  expect(handed.outcome).toBe('delivered');
  return { caseId, workflowId: handed.row.workflowId };
}

async function startCritique(): Promise<{ caseId: string; workflowId: string }> {
  const caseId = await seedCase(stack.db, stack.userId);
  await seedDocument(stack.db, { caseId, userId: stack.userId, title: 'Station notes' }, [
    'Bakery rents near the station averaged 3500 pounds a month in March 2025.',
  ]);
  const claim = await seedSignal(stack.db, { caseId, type: 'assumption', text: 'Bakery rents near the station are affordable' });
  const item = await seedEvidence(stack.db, { caseId, userId: stack.userId, text: 'A letting agent called station rents fair.', credibility: 0.3 });
  await seedLink(stack.db, { caseId, evidenceId: item.id, signalId: claim.id, relation: 'supports' });
  const handed = await startAgentRun(
    { db: stack.db, temporal: stack.client, queues: stack.queues },
    { descriptor: CRITIQUE_AGENT, userId: stack.userId, caseId, topic: 'bakery rents near the station', correlationId: randomUUID() },
  );
  expect(handed.outcome).toBe('delivered');
  return { caseId, workflowId: handed.row.workflowId };
}

async function startInquiryKinds(): Promise<{ caseId: string; inquiryId: string; workflowIds: string[] }> {
  const caseId = await seedCase(stack.db, stack.userId);
  await seedDocument(stack.db, { caseId, userId: stack.userId, title: 'Oven notes' }, [
    'Leasing a deck oven costs 450 pounds a month over five years for a small bakery.',
    'Buying a deck oven outright costs about 18000 pounds, and it is not cheaper to lease over ten years.',
  ]);
  const [inquiry] = await stack.db.insert(inquiries).values({ caseId, userId: stack.userId, question: 'Should the bakery lease or buy its deck oven?' }).returning();
  const inquiryId = inquiry!.id;
  const started = await Promise.all(INQUIRY_KINDS.map((kind) =>
    startInquiry(stack.client, { inquiryId, kind, caseId, userId: stack.userId, correlationId: randomUUID(), queues: stack.queues }, { deadline: Date.now() + 10_000 }),
  ));
  const workflowIds = started.map((s) => s.workflowId);
  expect(workflowIds).toEqual(INQUIRY_KINDS.map((kind) => `inquiry-${kind}-${inquiryId}`));
  return { caseId, inquiryId, workflowIds };
}

/** Nothing twice in the research run: the retried extraction found its findings; one version, one event, evidence once each. */
async function expectResearchOnce(run: { caseId: string; workflowId: string }, result: ResearchResult): Promise<void> {
  // Round 1 read both chunks; rounds 2 and 3 found nothing new (RESEARCH_STALL_ROUNDS=2).
  expect(result.stopReason).toBe('stalled');
  const findings = await stack.db.select().from(researchFindings).where(eq(researchFindings.workflowId, run.workflowId));
  expect(new Set(findings.map((f) => `${f.sourceId}:${f.quoteHash}`)).size).toBe(findings.length);
  const [artifact] = await stack.db.select().from(artifacts).where(eq(artifacts.workflowId, run.workflowId));
  const versions = await stack.db.select().from(artifactVersions).where(eq(artifactVersions.artifactId, artifact!.id));
  expect(versions).toHaveLength(1);
  // The report cited [99], which no finding is: removed and counted.
  expect(versions[0]!.markdown).not.toContain('[99]');
  expect(versions[0]!.metadata).toMatchObject({ invalidCitations: 1, cited: 1 });
  expect(await stack.db.select().from(events).where(and(eq(events.type, 'RESEARCH_COMPLETED'), eq(events.caseId, run.caseId)))).toHaveLength(1);
  const items = await eventually(
    () => stack.db.select().from(evidence).where(and(eq(evidence.caseId, run.caseId), eq(evidence.source, 'research'))),
    (rows) => rows.length > 0 && rows.every((r) => r.status === 'completed' || r.status === 'failed'),
    60_000,
  );
  expect(new Set(items.map((i) => i.contentHash)).size).toBe(items.length);
  const [row] = await stack.db.select().from(agentRuns).where(eq(agentRuns.workflowId, run.workflowId));
  expect(row).toMatchObject({ status: 'completed' });
}

/** The critique's retried writing phase found its version: one version, one event, its annotations once. */
async function expectCritiqueOnce(run: { caseId: string; workflowId: string }, result: ReviewResult): Promise<void> {
  expect(result).toMatchObject({ version: 1, issues: 3 });
  const [artifact] = await stack.db.select().from(artifacts).where(eq(artifacts.workflowId, run.workflowId));
  expect(await stack.db.select().from(artifactVersions).where(eq(artifactVersions.artifactId, artifact!.id))).toHaveLength(1);
  expect(await stack.db.select().from(events).where(and(eq(events.type, 'CRITIQUE_COMPLETED'), eq(events.caseId, run.caseId)))).toHaveLength(1);
  const notes = await stack.db.select().from(briefAnnotations).where(eq(briefAnnotations.caseId, run.caseId));
  expect(notes.map((n) => n.kind).sort()).toEqual(['missing-counter-evidence', 'one-sided-sourcing', 'weak-claim']);
  expect(notes.every((n) => n.source === 'critique' && n.resolvedBy === null)).toBe(true);
  const [row] = await stack.db.select().from(agentRuns).where(eq(agentRuns.workflowId, run.workflowId));
  expect(row).toMatchObject({ status: 'completed' });
}

/** Each inquiry kind's retried write found its document: one, searchable, its three events once. */
async function expectInquiryOnce(run: { caseId: string; inquiryId: string; workflowIds: string[] }, results: InquiryResult[]): Promise<void> {
  const { inquiryId } = run;
  for (const [i, kind] of INQUIRY_KINDS.entries()) {
    const result = results[i]!;
    const workflowId = run.workflowIds[i]!;
    // The retried write answers what the killed one committed: its one valid citation.
    expect(result).toMatchObject({ inquiryId, kind, version: 1, citations: 1 });
    const links = await stack.db.select().from(inquiryDocuments).where(and(eq(inquiryDocuments.inquiryId, inquiryId), eq(inquiryDocuments.kind, kind)));
    expect(links.map((l) => [l.version, l.documentId, l.status])).toEqual([[1, result.documentId, 'completed']]);
    const [doc] = await stack.db.select().from(documents).where(eq(documents.id, result.documentId));
    expect(doc).toMatchObject({ source: 'inquiry', processingStatus: 'completed' });
    expect(doc!.chunkCount).toBeGreaterThan(0);
    // The invented citation [99] is no finding: removed.
    expect(doc!.content).not.toContain('[99]');
    const own = await stack.db.select().from(events).where(eq(events.workflowId, workflowId));
    expect(own.map((e) => e.type).sort()).toEqual(['DOCUMENT_ADDED', 'RESEARCH_COMPLETED', 'WORKFLOW_COMPLETED']);
    for (const e of own) expect(e.payload).toMatchObject({ inquiryId, kind, version: 1, documentId: result.documentId });
    const added = await stack.db.select().from(events).where(and(eq(events.type, 'DOCUMENT_ADDED'), eq(events.documentId, result.documentId)));
    expect(added).toHaveLength(1);
  }
  expect(await stack.db.select().from(documents).where(and(eq(documents.caseId, run.caseId), eq(documents.source, 'inquiry')))).toHaveLength(3);
}

/** The research purposes' calls at the fake server (the evidence's own ingestions call the model too). */
const researchCalls = () => Object.fromEntries(Object.entries(model.calls).filter(([name]) => name.startsWith('research_') || name.startsWith('critique_')));

describe('one worker SIGKILL while a research run, a critique and the three kinds of an inquiry sit between a commit and its report', () => {
  it('a new worker finishes all five: no completed phase runs again, nothing is stored twice', async () => {
    const first = await startWorker(HOLDS);
    const [research, critique, inquiry] = await Promise.all([startResearch(), startCritique(), startInquiryKinds()]);

    await waitFor('the five runs to commit and hold', async () =>
      (commits(first, 'researchExtract') === 1 && commits(first, 'critiqueWrite') === 1 && commits(first, 'writeInquiryDocument') === 3 ? true : undefined),
    90_000, first);
    // Research: its plan and round 1's extraction; the critique: its plan, one round (its one
    // chunk) and its report; each inquiry kind: its extraction and its document.
    expect(researchCalls()).toEqual({ research_plan: 1 + 1, research_findings: 1 + 1 + 3, research_evaluation: 1, research_report: 3, critique_report: 1 });
    await killChild(first);
    const killedAt = Date.now();
    const second = await startWorker(undefined);

    const [researched, critiqued, ...inquired] = await Promise.all([
      stack.client.workflow.getHandle(research.workflowId).result() as Promise<ResearchResult>,
      stack.client.workflow.getHandle(critique.workflowId).result() as Promise<ReviewResult>,
      ...inquiry.workflowIds.map((id) => stack.client.workflow.getHandle(id).result() as Promise<InquiryResult>),
    ]);
    console.log(`[research-kill] the five runs completed ${Math.round((Date.now() - killedAt) / 1000)} s after the kill; calls ${JSON.stringify(model.calls)}`);

    // Nothing that had completed ran again: research's round-1 extraction ran twice (the killed
    // attempt and its retry), then its evaluation and report once; the critique's report twice
    // (the retry found its version); the inquiries' writes not again.
    expect(researchCalls()).toEqual({ research_plan: 1 + 1, research_findings: 2 + 1 + 3, research_evaluation: 1 + 1, research_report: 1 + 3, critique_report: 2 });
    await expectResearchOnce(research, researched);
    await expectCritiqueOnce(critique, critiqued);
    await expectInquiryOnce(inquiry, inquired);
    expect(second.alive()).toBe(true);
  }, 240_000);
});
