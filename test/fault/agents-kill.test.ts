/**
 * Fault test (issue 18): the worker is SIGKILLed while an on-demand signal extraction and a case
 * draft run, each between a commit and its report (test/fault/agents-worker-process.ts holds the
 * extraction's batches and the draft's commit after they committed). A new worker finishes both:
 * the dead attempts are noticed by their heartbeat timeouts and retried, and find what they
 * committed. The extraction counts every batch once (its events and the reference counts say
 * so); the draft makes one case (one CASE_DRAFTED, one system message) and starts each agent it
 * holds once, on that case.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { planSuggestionStart, startPlanned } from '../../activities/agents/suggested.js';
import { agentRuns, agentSuggestions, cases, chunks, documents, events, messages, signals, threads } from '../../activities/db/schema/index.js';
import { contentHash } from '../../activities/documents/store.js';
import { extractionWorkflowId, startExtractSignals } from '../../activities/signal-extraction.js';
import type { DraftCaseResult, ExtractSignalsResult } from '../../workflows/types.js';
import { fixtureAgent, FIXTURE_AGENTS } from '../fixtures/agents.js';
import { seedSignal } from '../helpers/briefs.js';
import { eventually, seedThread } from '../helpers/chat.js';
import { killChild, stopChild, waitFor, type Child } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { startAgentsWorker, startFaultStack, faultBundleFile, type FaultStack } from './harness.js';

const AGENTS = [...FIXTURE_AGENTS, fixtureAgent('critique')];
const CHUNKS = 12;
/** Three chunks a batch: four batches. */
const BATCH = 3;
const REPEATED = 'There is a risk the landlord sells the building.';

let database: TestDatabase;
let stack: FaultStack;
let bundlePath: string;
const children: Child[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  stack = await startFaultStack({ label: 'agents-kill', temporalAddress: inject('temporalAddress'), databaseUrl: database.url });
  bundlePath = await faultBundleFile('agents', fileURLToPath(new URL('../fixtures/workflows-with-agents.ts', import.meta.url)));
});

afterAll(async () => {
  for (const child of children) await stopChild(child, 5_000);
  await stack?.close();
  await database?.drop();
});

function startWorker(holds: string | undefined): Promise<Child> {
  return startAgentsWorker({
    name: `agents worker #${children.length + 1}`, stack, temporalAddress: inject('temporalAddress'), databaseUrl: database.url, bundlePath, holds, children,
    env: { LLM_PROVIDER: 'local', EMBEDDING_PROVIDER: 'local', SIGNAL_EXTRACTION_MAX_MESSAGES: String(BATCH) },
    unset: ['OPENAI_API_KEY', 'OPENAI_BASE_URL'],
  });
}

async function chunkedDocument(caseId: string): Promise<{ id: string; contentHash: string }> {
  const texts = Array.from({ length: CHUNKS }, (_, i) => `We assume rents rise by ${i + 1} percent next year. ${REPEATED}`);
  const content = texts.join('\n\n');
  const [doc] = await stack.db.insert(documents).values({
    caseId, userId: stack.userId, source: 'upload', title: 'plan.md', contentType: 'text/markdown', contentHash: contentHash(content),
    content, extractedText: content, processingStatus: 'completed', chunkCount: CHUNKS,
  }).returning();
  await stack.db.insert(chunks).values(texts.map((text, ordinal) => ({ documentId: doc!.id, caseId, ordinal, text, tokenCount: 20, embedding: [1, 0, 0] })));
  return { id: doc!.id, contentHash: doc!.contentHash };
}

/** Two agents accepted in a thread with no case, as the accept route does it: both go to the thread's draft. */
async function acceptTwoAgents(threadId: string): Promise<string[]> {
  const [thread] = await stack.db.select().from(threads).where(eq(threads.id, threadId));
  const accepted: string[] = [];
  for (const agentType of ['research', 'critique']) {
    const [suggestion] = await stack.db.insert(agentSuggestions)
      .values({ threadId, kind: 'agent', agentType, confidence: 0.9, reason: 'a fixture', turn: accepted.length + 1, status: 'accepted', topic: `the ${agentType} topic` })
      .returning();
    const plan = planSuggestionStart(suggestion!, thread!, AGENTS);
    if ('problem' in plan) throw new Error(plan.problem);
    const handed = await startPlanned({ db: stack.db, temporal: stack.client, queues: stack.queues }, suggestion!.id, plan);
    expect(handed.outcome).toBe('delivered');
    accepted.push(suggestion!.id);
  }
  return accepted;
}

const extractionEvents = (workflowId: string) =>
  stack.db.select().from(events).where(sql`${events.idempotencyKey} like ${`signals-extracted:${workflowId}:%`}`);

describe('worker SIGKILL while an extraction and a case draft run', () => {
  it('a new worker finishes both: every batch counted once, one case drafted, each held agent started once', async () => {
    const first = await startWorker('extractSignalBatch:1500,draftCaseFromThread:15000');

    const caseId = await seedCase(stack.db, stack.userId);
    const doc = await chunkedDocument(caseId);
    const source = { kind: 'document' as const, documentId: doc.id };
    const extractionId = extractionWorkflowId(source, doc.contentHash);
    await startExtractSignals(stack.client, { caseId, userId: stack.userId, correlationId: randomUUID(), source, queues: stack.queues }, extractionId, Date.now() + 10_000);

    const thread = await seedThread(stack.db, stack.userId, 'Leeds bakery');
    for (const [type, text] of [['goal', 'Open a second bakery'], ['risk', 'The landlord may sell'], ['constraint', 'Budget under 150k']]) {
      await seedSignal(stack.db, { caseId: null, threadId: thread.id, type: type!, text: text! });
    }
    const suggestionIds = await acceptTwoAgents(thread.id);
    const draftId = `draft-case-${thread.id}`;

    // Both between a commit and its report: two batches stored, the case drafted.
    await waitFor('two batches stored and the case drafted', async () => {
      const [drafted] = await stack.db.select({ caseId: threads.caseId }).from(threads).where(eq(threads.id, thread.id));
      return (await extractionEvents(extractionId)).length >= 2 && drafted?.caseId ? true : undefined;
    }, 90_000, first);
    await killChild(first);
    const killedAt = Date.now();
    const second = await startWorker(undefined);

    const extracted: ExtractSignalsResult = await stack.client.workflow.getHandle(extractionId).result();
    const drafted: DraftCaseResult = await stack.client.workflow.getHandle(draftId).result();
    console.log(`[agents-kill] both runs completed ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`);
    expect(first.output()).toContain('fault: draftCaseFromThread committed');

    // The extraction: four batches, each stored once.
    expect(extracted).toEqual({ batches: CHUNKS / BATCH, created: CHUNKS + 1, skipped: 0 });
    expect(await extractionEvents(extractionId)).toHaveLength(CHUNKS / BATCH);
    const found = await stack.db.select().from(signals).where(eq(signals.caseId, caseId));
    expect(found).toHaveLength(CHUNKS + 1);
    expect(found.find((s) => s.text === REPEATED)?.referenceCount).toBe(CHUNKS / BATCH);

    // The draft: one case, announced once, and each agent started once on it.
    const agentIds = [`research-${drafted.caseId}-${suggestionIds[0]}`, `agent-critique-${drafted.caseId}-${suggestionIds[1]}`];
    expect(drafted).toEqual({ caseId: drafted.caseId, drafted: true, agentsStarted: agentIds });
    const drafts = await stack.db.select().from(cases).where(sql`${cases.structure}->>'draftedFrom' = ${thread.id}`);
    expect(drafts.map((c) => c.id)).toEqual([drafted.caseId]);
    expect(await stack.db.select().from(events).where(and(eq(events.type, 'CASE_DRAFTED'), eq(events.threadId, thread.id)))).toHaveLength(1);
    const notes = await stack.db.select().from(messages).where(and(eq(messages.threadId, thread.id), eq(messages.role, 'system')));
    expect(notes).toHaveLength(1);
    const runs = await eventually(
      () => stack.db.select().from(agentRuns).where(eq(agentRuns.threadId, thread.id)),
      (rows) => rows.length === 3 && rows.every((r) => r.status === 'completed'),
      60_000,
    );
    expect(runs.map((r) => r.workflowId).sort()).toEqual([...agentIds, draftId].sort());
    for (const workflowId of agentIds) {
      const started = [];
      for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) started.push(run.runId);
      expect(started, workflowId).toHaveLength(1);
    }
    expect(second.alive()).toBe(true);
  }, 240_000);
});
