/**
 * A completed document gives its case evidence (issue 17): an upload's most informative
 * passages become items, ingested by `ingestEvidence` children that outlive the document's
 * run (each ends completed, linked where it should); an inquiry's document gives none; a
 * retried store step and a reprocess duplicate nothing; a failure to derive evidence never
 * fails the document; the case's brief is told.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidence, evidenceSignalLinks, events, runProgress } from '../../activities/db/schema/index.js';
import { startProcessDocument } from '../../activities/documents/start.js';
import { storeDocument } from '../../activities/documents/store.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { hashEmbedding } from '../../activities/llm/local-embedder.js';
import type { processDocument } from '../../workflows/index.js';
import { workflowIds } from '../../workflows/types.js';
import { withActivityFaults, type ActivityFaults } from '../helpers/activity-faults.js';
import { seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { documentRow, reprocessDocument, seedCase, submitDocument } from '../helpers/documents.js';
import { seedSignal } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let client: Client;
const queues = testQueues('document-evidence');
const faults: ActivityFaults = { calls: new Map(), commitThenThrowOnce: new Set() };
/** Documents whose evidence step fails for good. */
const refuse = new Set<string>();
const toClose: string[] = [];

/** The worker's embedder: test/helpers/stack.ts's local one, at 64 dimensions. */
const DIMENSIONS = 64;
const BRIEF = { debounceMs: 200, maxWaitMs: 1_000, idleCloseMs: 1_000, staleEvidenceDays: 180 };

const RENT = 'Rents near the station are 3500 pounds a month, the letting agent wrote in March 2025.';
const FLOUR = 'Flour prices rose by 12% between March and June, compared with 4% a year earlier.';
/** Its ingestion is slow (the scripted model takes 3 s to score it): it is still running when the document's run has ended. */
const FOOTFALL = 'A survey by the council found footfall 30 percent higher on Saturdays than on weekdays.';
const REPORT = [
  '# Station quarter: a market report',
  'Home | Reports | Contact',
  'Rents and rates',
  `${RENT} Deck ovens are the subject of this article.`,
  'They matter to every bakery that plans ahead and buys well.',
  `- ${FLOUR}`,
  'What should a new bakery pay for rent near the station in 2025?',
  FOOTFALL,
  'Copyright 2025 Bakers Weekly. All rights reserved in 12 countries.',
].join('\n\n');

function scriptedLlm(): Llm {
  const local = createLocalLlm();
  return {
    ...local,
    async scoreEvidence(input, call) {
      if (input.text.includes('footfall')) await new Promise((r) => setTimeout(r, 3_000));
      return local.scoreEvidence(input, call);
    },
  };
}

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  client = env.client;
  workers = await startTestWorkers({
    env, db: database.db, queues, llm: scriptedLlm(), brief: BRIEF,
    wrapActivities: (acts) => withActivityFaults(acts, faults, async (name, args) => {
      const documentId = (args[0] as { documentId?: string } | undefined)?.documentId ?? '';
      if (name === 'deriveDocumentEvidence' && refuse.has(documentId)) throw ApplicationFailure.nonRetryable('the evidence store refused it', 'ValidationError');
    }),
  });
});

afterAll(async () => {
  for (const id of toClose) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

async function newCase() {
  const userId = (await seedUser(database.db)).id;
  const caseId = await seedCase(database.db, userId, 'A bakery by the station');
  toClose.push(workflowIds.evolveBrief(caseId));
  return { db: database.db, client, queues, caseId, userId };
}

const itemsOf = (documentId: string) =>
  database.db.select().from(evidence).where(eq(evidence.documentId, documentId)).orderBy(asc(evidence.createdAt), asc(evidence.text));

async function processed(workflowId: string) {
  return client.workflow.getHandle<typeof processDocument>(workflowId).result();
}

describe('processDocument gives its case evidence', () => {
  it('an upload: its passages become items, ingested by children that outlive the run, each completed and linked where it should', async () => {
    const c = await newCase();
    const assumed = 'We assume rents near the station are about 2000 pounds a month.';
    const rent = await seedSignal(database.db, { caseId: c.caseId, type: 'assumption' }, assumed, hashEmbedding(assumed, DIMENSIONS));
    const { documentId, workflowId } = await submitDocument(c, { title: 'report.md', contentType: 'text/markdown', content: REPORT });
    const result = await processed(workflowId);
    expect(result).toMatchObject({ documentId, evidence: { items: 3, started: 3 } });

    const items = await itemsOf(documentId);
    expect(items.map((i) => i.text).sort()).toEqual([FLOUR, FOOTFALL, RENT].sort());
    for (const item of items) {
      expect(item).toMatchObject({ caseId: c.caseId, userId: c.userId, source: 'document', sourceTitle: 'report.md', sourceUrl: null, documentId });
    }
    // The document's run has ended; the slow item's run goes on without it.
    const slow = items.find((i) => i.text === FOOTFALL)!;
    const slowRun = client.workflow.getHandle(workflowIds.evidence(c.caseId, slow.contentHash));
    expect((await slowRun.describe()).status.name).toBe('RUNNING');
    for (const item of items) {
      const run = client.workflow.getHandle(workflowIds.evidence(c.caseId, item.contentHash));
      await run.result();
      expect((await run.describe()).parentExecution?.workflowId).toBe(workflowId);
    }
    const done = await itemsOf(documentId);
    expect(done.map((i) => i.status)).toEqual(['completed', 'completed', 'completed']);
    const rentItem = done.find((i) => i.text === RENT)!;
    const links = await database.db.select().from(evidenceSignalLinks).where(eq(evidenceSignalLinks.evidenceId, rentItem.id));
    expect(links).toEqual([expect.objectContaining({ signalId: rent, relation: 'contradicts' })]);

    // Reported in the run's progress, after `indexed`; the brief was told of the document.
    const progress = await database.db.select().from(runProgress).where(eq(runProgress.workflowId, workflowId)).orderBy(asc(runProgress.seq));
    expect(progress.slice(-2).map((p) => p.payload)).toEqual([expect.objectContaining({ step: 'indexed' }), { step: 'evidence', items: 3 }]);
    // Every run of the case's brief (it closes when idle, and the items' tells start it again).
    const changes = async () => {
      const found: unknown[] = [];
      for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowIds.evolveBrief(c.caseId)}"` })) {
        const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
        for (const e of history.events ?? []) {
          for (const p of e.workflowExecutionSignaledEventAttributes?.input?.payloads ?? []) found.push(JSON.parse(Buffer.from(p.data!).toString()));
        }
      }
      return found;
    };
    await expect.poll(changes, { timeout: 15_000 }).toContainEqual({ kind: 'document-completed', id: documentId });
  }, 60_000);

  it("an inquiry's document gives none (its own conclusions are no proof of themselves)", async () => {
    const c = await newCase();
    const { document } = await storeDocument(database.db, { caseId: c.caseId, userId: c.userId, source: 'inquiry', title: 'inquiry.md', contentType: 'text/markdown', content: REPORT });
    const workflowId = await startProcessDocument(client, { documentId: document.id, caseId: c.caseId, userId: c.userId, queues }, { deadline: Date.now() + 10_000 });
    expect(await processed(workflowId)).toMatchObject({ documentId: document.id, evidence: { items: 0, started: 0 } });
    expect(await itemsOf(document.id)).toEqual([]);
  });

  it('a store step retried after it committed, and the document processed again, duplicate nothing', async () => {
    const c = await newCase();
    const content = `${RENT}\n\n${FLOUR}`;
    faults.commitThenThrowOnce.add('deriveDocumentEvidence');
    const first = await submitDocument(c, { title: 'retried.md', contentType: 'text/markdown', content });
    expect(await processed(first.workflowId)).toMatchObject({ evidence: { items: 2, started: 2 } });
    expect(faults.commitThenThrowOnce.has('deriveDocumentEvidence')).toBe(false);
    const items = await itemsOf(first.documentId);
    expect(items).toHaveLength(2);
    for (const item of items) await client.workflow.getHandle(workflowIds.evidence(c.caseId, item.contentHash)).result();

    // Processed again: the same passages are the same items, completed, so nothing starts.
    await processed(await reprocessDocument(c, first.documentId));
    const again = await client.workflow.getHandle<typeof processDocument>(workflowIds.document(first.documentId)).result();
    expect(again).toMatchObject({ evidence: { items: 2, started: 0 } });
    expect((await itemsOf(first.documentId)).map((i) => [i.id, i.status])).toEqual(items.map((i) => [i.id, 'completed']));
    const added = await database.db.select().from(events).where(and(eq(events.caseId, c.caseId), eq(events.type, 'EVIDENCE_ADDED')));
    expect(added).toHaveLength(2);
    for (const item of items) {
      const runs = [];
      for await (const r of client.workflow.list({ query: `WorkflowId = "${workflowIds.evidence(c.caseId, item.contentHash)}"` })) runs.push(r.runId);
      expect(runs).toHaveLength(1);
    }
  }, 60_000);

  it('a failure to derive evidence leaves the document completed, and says why in the result', async () => {
    const c = await newCase();
    const upload = { title: 'refused.md', contentType: 'text/markdown', content: RENT };
    const { document } = await storeDocument(database.db, { caseId: c.caseId, userId: c.userId, source: 'upload', ...upload });
    refuse.add(document.id);
    const workflowId = await startProcessDocument(client, { documentId: document.id, caseId: c.caseId, userId: c.userId, correlationId: randomUUID(), queues }, { deadline: Date.now() + 10_000 });
    expect(await processed(workflowId)).toMatchObject({ documentId: document.id, chunks: 1, evidence: { failed: 'the evidence store refused it' } });
    expect(await itemsOf(document.id)).toEqual([]);
    expect(await documentRow(database.db, document.id)).toMatchObject({ processingStatus: 'completed', error: null });
  });
});
