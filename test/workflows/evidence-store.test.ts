/**
 * Storing and starting evidence (issue 17, Decisions 21 and 31): the normalised text and its
 * hash, one item per (case, hash) even under a race, a failed item set back to pending once
 * (reported as restarted), and the start: its id, joining an open run, a failed run's id
 * started again, its search attributes and summary. No worker: a run stays open.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidence } from '../../activities/db/schema/index.js';
import { evidenceHash, findOwnEvidence, normaliseEvidenceText, storeEvidence } from '../../activities/evidence/store.js';
import { startIngestEvidence } from '../../activities/evidence/start.js';
import { caseIdKey, correlationIdKey, userIdKey } from '../../workflows/search-attributes.js';
import type { IngestEvidenceInput } from '../../workflows/types.js';
import { seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let userId: string;
let caseId: string;
const queues = testQueues('evidence-store');
const started: string[] = [];

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  userId = (await seedUser(database.db)).id;
  caseId = await seedCase(database.db, userId);
});

afterAll(async () => {
  for (const id of started) await env.client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await env?.teardown();
  await database?.drop();
});

describe('normalised text and hash', () => {
  it('removes NUL, collapses whitespace, trims; the hash is sha256 of that', () => {
    expect(normaliseEvidenceText('  Rents\u0000 near\n\n the\tstation  ')).toBe('Rents near the station');
    expect(evidenceHash('a')).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
  });
});

describe('storeEvidence', () => {
  it('stores the normalised text pending, with its source; the same text again is the same item', async () => {
    const first = await storeEvidence(database.db, { caseId, userId, text: ' The  quokka\ncount doubled. ', sourceUrl: 'https://example.org/q', sourceTitle: 'Census' });
    expect(first).toMatchObject({ created: true, restarted: false });
    expect(first.evidence).toMatchObject({ text: 'The quokka count doubled.', contentHash: evidenceHash('The quokka count doubled.'), status: 'pending', source: 'manual', sourceUrl: 'https://example.org/q', sourceTitle: 'Census', error: null });
    const again = await storeEvidence(database.db, { caseId, userId, text: 'The quokka count   doubled.', sourceUrl: 'https://other.example' });
    expect(again).toMatchObject({ created: false, restarted: false, evidence: { id: first.evidence.id, sourceUrl: 'https://example.org/q' } });
    // Another case: another item.
    const otherCase = await seedCase(database.db, userId);
    expect((await storeEvidence(database.db, { caseId: otherCase, userId, text: 'The quokka count doubled.' })).created).toBe(true);
  });

  it('refuses text that is empty once normalised', async () => {
    await expect(storeEvidence(database.db, { caseId, userId, text: ' \u0000\n ' })).rejects.toMatchObject({ type: 'ValidationError', nonRetryable: true });
  });

  it('20 concurrent submissions of one text make one item', async () => {
    const text = `Concurrent ${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => storeEvidence(database.db, { caseId, userId, text })));
    expect(new Set(results.map((r) => r.evidence.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('a failed item is set back to pending once and reported as restarted; pending, processing and completed ones are not', async () => {
    const { evidence: item } = await storeEvidence(database.db, { caseId, userId, text: `Failing ${randomUUID()}` });
    await database.db.update(evidence).set({ status: 'failed', error: 'scoring failed: refused' }).where(eq(evidence.id, item.id));
    const racing = await Promise.all([1, 2, 3].map(() => storeEvidence(database.db, { caseId, userId, text: item.text })));
    expect(racing.filter((r) => r.restarted)).toHaveLength(1);
    for (const r of racing) expect(r.evidence).toMatchObject({ id: item.id, status: 'pending', error: null });
    for (const status of ['processing', 'completed'] as const) {
      await database.db.update(evidence).set({ status }).where(eq(evidence.id, item.id));
      expect(await storeEvidence(database.db, { caseId, userId, text: item.text })).toMatchObject({ created: false, restarted: false, evidence: { status } });
    }
  });

  it("finds a user's own item only", async () => {
    const { evidence: item } = await storeEvidence(database.db, { caseId, userId, text: `Own ${randomUUID()}` });
    expect((await findOwnEvidence(database.db, userId, item.id))?.id).toBe(item.id);
    expect(await findOwnEvidence(database.db, (await seedUser(database.db)).id, item.id)).toBeUndefined();
  });
});

describe('startIngestEvidence', () => {
  async function stored() {
    const { evidence: item } = await storeEvidence(database.db, { caseId, userId, text: `Start ${randomUUID()}` });
    const input: IngestEvidenceInput = { evidenceId: item.id, caseId, userId, correlationId: randomUUID(), queues };
    return { item, input, options: { contentHash: item.contentHash, deadline: Date.now() + 10_000 } };
  }

  it('starts evidence-<caseId>-<hash first 16> on ingest, with its attributes, summary and backstop', async () => {
    const { item, input, options } = await stored();
    const workflowId = await startIngestEvidence(env.client, input, options);
    started.push(workflowId);
    expect(workflowId).toBe(`evidence-${caseId}-${item.contentHash.slice(0, 16)}`);
    const description = await env.client.workflow.getHandle(workflowId).describe();
    expect(description).toMatchObject({ type: 'ingestEvidence', taskQueue: queues.ingest });
    expect(description.typedSearchAttributes.get(caseIdKey)).toBe(caseId);
    expect(description.typedSearchAttributes.get(userIdKey)).toBe(userId);
    expect(description.typedSearchAttributes.get(correlationIdKey)).toBe(input.correlationId);
    expect(await description.staticSummary()).toBe(`Ingest evidence ${item.id} into case ${caseId}`);
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const startedAttrs = history.events![0]!.workflowExecutionStartedEventAttributes!;
    expect(Number(startedAttrs.workflowExecutionTimeout!.seconds)).toBe(35 * 60);
  });

  it('joins an open run; after a failed (terminated) run, starts a new one', async () => {
    const { input, options } = await stored();
    const workflowId = await startIngestEvidence(env.client, input, options);
    started.push(workflowId);
    const first = (await env.client.workflow.getHandle(workflowId).describe()).runId;
    await startIngestEvidence(env.client, input, options);
    expect((await env.client.workflow.getHandle(workflowId).describe()).runId).toBe(first);
    await env.client.workflow.getHandle(workflowId).terminate('the run failed');
    await startIngestEvidence(env.client, input, options);
    const second = await env.client.workflow.getHandle(workflowId).describe();
    expect(second.runId).not.toBe(first);
    expect(second.status.name).toBe('RUNNING');
  });
});
