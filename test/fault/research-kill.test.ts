/**
 * Fault test (issue 19): the worker is SIGKILLed while a research run's extraction has committed
 * its findings and not yet reported (test/fault/agents-worker-process.ts holds it). A new worker
 * finishes the run: the dead attempt is noticed by its heartbeat timeout and retried; every
 * phase that had completed before the kill ran once, counted at the fake OpenAI server (which
 * sees every call, a killed attempt's too); the repeated extraction stores nothing twice, and
 * the run ends with one artifact version, one RESEARCH_COMPLETED, each finding's evidence once.
 * Then the same for the critique agent (issue 20; `critiqueAgent`, workflows/research/review-agents.ts, whose
 * briefAgent shares every step but the writing phase), killed after its writing phase committed the
 * artifact and its annotations: the retried phase finds its version, one CRITIQUE_COMPLETED.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgentRun } from '../../activities/agents/start.js';
import { agentRuns, artifacts, artifactVersions, briefAnnotations, events, evidence, researchFindings } from '../../activities/db/schema/index.js';
import { CRITIQUE_AGENT, RESEARCH_AGENT } from '../../workflows/agents/catalog.js';
import type { ResearchResult, ReviewResult } from '../../workflows/types.js';
import { seedEvidence, seedLink, seedSignal } from '../helpers/briefs.js';
import { eventually } from '../helpers/chat.js';
import { killChild, stopChild, waitFor, type Child } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai.js';
import { researchModel } from '../helpers/research-model.js';
import { seedDocument } from '../helpers/retrieval.js';
import { startAgentsWorker, startFaultStack, writeFaultBundle, type FaultStack } from './harness.js';

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
  bundlePath = await writeFaultBundle('research');
});

afterAll(async () => {
  for (const child of children) await stopChild(child, 5_000);
  await fake?.close();
  await stack?.close();
  await database?.drop();
});

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

describe('worker SIGKILL in the middle of a research run', () => {
  it('a new worker finishes it: no completed phase runs again, nothing is stored twice', async () => {
    const first = await startWorker('researchExtract:15000');
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
    const workflowId = handed.row.workflowId;

    // Round 1's extraction committed its findings and holds its report: kill there.
    await waitFor('the extraction to commit', async () => (first.output().includes('fault: researchExtract committed') ? true : undefined), 90_000, first);
    const before = { ...model.calls };
    expect(before).toMatchObject({ research_plan: 1, research_findings: 1 });
    await killChild(first);
    const killedAt = Date.now();
    const second = await startWorker(undefined);

    const result: ResearchResult = await stack.client.workflow.getHandle(workflowId).result();
    console.log(`[research-kill] the run completed ${Math.round((Date.now() - killedAt) / 1000)} s after the kill; calls ${JSON.stringify(model.calls)}`);
    // Round 1 read both chunks; rounds 2 and 3 found nothing new (RESEARCH_STALL_ROUNDS=2).
    expect(result.stopReason).toBe('stalled');

    // The plan had completed: it never ran again. Round 1's extraction ran twice (the killed
    // attempt and its retry), its evaluation once, the report once.
    // (The evidence's own ingestions call the model too: only the research purposes are counted here.)
    const researchCalls = Object.fromEntries(Object.entries(model.calls).filter(([name]) => name.startsWith('research_')));
    expect(researchCalls).toEqual({ research_plan: 1, research_findings: 2, research_evaluation: 1, research_report: 1 });

    // Nothing twice: the retried extraction found its findings, one version, one event, evidence once each.
    const findings = await stack.db.select().from(researchFindings).where(eq(researchFindings.workflowId, workflowId));
    expect(new Set(findings.map((f) => `${f.sourceId}:${f.quoteHash}`)).size).toBe(findings.length);
    const [artifact] = await stack.db.select().from(artifacts).where(eq(artifacts.workflowId, workflowId));
    const versions = await stack.db.select().from(artifactVersions).where(eq(artifactVersions.artifactId, artifact!.id));
    expect(versions).toHaveLength(1);
    // The report cited [99], which no finding is: removed and counted.
    expect(versions[0]!.markdown).not.toContain('[99]');
    expect(versions[0]!.metadata).toMatchObject({ invalidCitations: 1, cited: 1 });
    expect(await stack.db.select().from(events).where(and(eq(events.type, 'RESEARCH_COMPLETED'), eq(events.caseId, caseId)))).toHaveLength(1);
    const items = await eventually(
      () => stack.db.select().from(evidence).where(and(eq(evidence.caseId, caseId), eq(evidence.source, 'research'))),
      (rows) => rows.length > 0 && rows.every((r) => r.status === 'completed' || r.status === 'failed'),
      60_000,
    );
    expect(new Set(items.map((i) => i.contentHash)).size).toBe(items.length);
    const [row] = await stack.db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId));
    expect(row).toMatchObject({ status: 'completed' });
    expect(second.alive()).toBe(true);
  }, 240_000);

  it('the critique agent killed after its writing phase committed: the retry writes nothing twice', async () => {
    // The research run's worker would take the critique's phases too, unheld: stop it first.
    for (const child of children) if (child.alive()) await stopChild(child, 5_000);
    const first = await startWorker('critiqueWrite:15000');
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
    const workflowId = handed.row.workflowId;
    await waitFor('the critique to commit', async () => (first.output().includes('fault: critiqueWrite committed') ? true : undefined), 90_000, first);
    expect(model.calls.critique_report).toBe(1);
    await killChild(first);
    await startWorker(undefined);

    const result: ReviewResult = await stack.client.workflow.getHandle(workflowId).result();
    // The killed attempt and its retry each asked for the report; the second found its version.
    expect(model.calls.critique_report).toBe(2);
    expect(result).toMatchObject({ version: 1, issues: 3 });
    const [artifact] = await stack.db.select().from(artifacts).where(eq(artifacts.workflowId, workflowId));
    expect(await stack.db.select().from(artifactVersions).where(eq(artifactVersions.artifactId, artifact!.id))).toHaveLength(1);
    expect(await stack.db.select().from(events).where(and(eq(events.type, 'CRITIQUE_COMPLETED'), eq(events.caseId, caseId)))).toHaveLength(1);
    const notes = await stack.db.select().from(briefAnnotations).where(eq(briefAnnotations.caseId, caseId));
    expect(notes.map((n) => n.kind).sort()).toEqual(['missing-counter-evidence', 'one-sided-sourcing', 'weak-claim']);
    expect(notes.every((n) => n.source === 'critique' && n.resolvedBy === null)).toBe(true);
    const [row] = await stack.db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId));
    expect(row).toMatchObject({ status: 'completed' });
  }, 240_000);
});
