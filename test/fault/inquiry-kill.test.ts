/**
 * Fault test (Phase 2B inquiries): one SIGKILL of the worker while all three kinds of an
 * inquiry have committed their document (its row, its version's link, RESEARCH_COMPLETED) and
 * not yet reported (test/fault/agents-worker-process.ts holds `writeInquiryDocument`). A new
 * worker finishes the three runs: the dead attempts are noticed by their heartbeat timeout and
 * retried, the retried write finds its version's document and calls no model again (counted at
 * the fake OpenAI server, which sees every call), and each kind ends with one document, made
 * searchable by its processing, and its three events exactly once under its own workflow id.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { documents, events, inquiries, inquiryDocuments, INQUIRY_KINDS } from '../../activities/db/schema/index.js';
import { startInquiry } from '../../activities/inquiries/start.js';
import type { InquiryResult } from '../../workflows/types.js';
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
  stack = await startFaultStack({ label: 'inquiry-kill', temporalAddress: inject('temporalAddress'), databaseUrl: database.url });
  fake = await startFakeOpenAi();
  fake.onChat = (body) => model.reply(body);
  bundlePath = await writeFaultBundle('inquiry');
});

afterAll(async () => {
  for (const child of children) await stopChild(child, 5_000);
  await fake?.close();
  await stack?.close();
  await database?.drop();
});

function startWorker(holds: string | undefined): Promise<Child> {
  return startAgentsWorker({
    name: `inquiry worker #${children.length + 1}`, stack, temporalAddress: inject('temporalAddress'), databaseUrl: database.url, bundlePath, holds, children,
    env: {
      LLM_PROVIDER: 'openai', EMBEDDING_PROVIDER: 'local', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl, LLM_MODEL: 'gpt-test',
    },
    unset: ['RESEARCH_SEARCH_URL'],
    readyMs: 60_000,
  });
}

const commits = (child: Child) => child.output().split('fault: writeInquiryDocument committed').length - 1;

describe('worker SIGKILL while the three kinds of an inquiry have written their documents', () => {
  it('a new worker finishes each: one document, searchable, its three events once, no model call repeated', async () => {
    const first = await startWorker('writeInquiryDocument:15000');
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

    await waitFor('the three writes to commit', async () => (commits(first) === 3 ? true : undefined), 30_000, first);
    expect(model.calls).toMatchObject({ research_findings: 3, research_report: 3 });
    await killChild(first);
    const killedAt = Date.now();
    await startWorker(undefined);

    const results: InquiryResult[] = await Promise.all(started.map(({ workflowId }) => stack.client.workflow.getHandle(workflowId).result()));
    console.log(`[inquiry-kill] the three runs completed ${Math.round((Date.now() - killedAt) / 1000)} s after the kill; calls ${JSON.stringify(model.calls)}`);
    // The retried writes found their documents: no model call twice.
    expect(model.calls).toMatchObject({ research_findings: 3, research_report: 3 });

    for (const [i, kind] of INQUIRY_KINDS.entries()) {
      const result = results[i]!;
      const workflowId = `inquiry-${kind}-${inquiryId}`;
      expect(started[i]!.workflowId).toBe(workflowId);
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
    expect(await stack.db.select().from(documents).where(and(eq(documents.caseId, caseId), eq(documents.source, 'inquiry')))).toHaveLength(3);
  }, 85_000);
});
