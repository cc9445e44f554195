/**
 * Chat step 3 and evidence (Decision 3's rule, behind Decision 30's patch): a conversation
 * whose step 3 went idle is woken by `evidenceAdded`, which the evidence pipeline sends to the
 * case's running conversations, and its next turn posts "assumption contradicted" for the
 * item that contradicts the thread's assumption, once per (assumption, evidence) pair.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signals, threads } from '../../activities/db/schema/index.js';
import { startIngestEvidence } from '../../activities/evidence/start.js';
import { storeEvidence } from '../../activities/evidence/store.js';
import { evidenceAddedSignal } from '../../workflows/messages.js';
import { workflowIds } from '../../workflows/types.js';
import { withActivityFaults } from '../helpers/activity-faults.js';
import { seedContradiction, seedEvidence, seedLink } from '../helpers/briefs.js';
import { byRole, eventually, seedThread, seedUser, sendMessage, threadMessages, waitForAnswer } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let workers: RunningWorkers;
let client: Client;
const queues = testQueues('chat-evidence');
/** Step 3's runs, per thread. */
const interventionRuns = new Map<string, number>();
const toClose: string[] = [];

/** Short windows, so the case's brief (told by the pipeline) closes soon after. */
const BRIEF = { debounceMs: 200, maxWaitMs: 1_000, idleCloseMs: 1_000, staleEvidenceDays: 180 };

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  client = env.client;
  const faults = { calls: new Map<string, number>(), commitThenThrowOnce: new Set<string>() };
  workers = await startTestWorkers({
    env, db: database.db, queues, brief: BRIEF,
    wrapActivities: (acts) => withActivityFaults(acts, faults, async (name, args) => {
      const threadId = (args[0] as { threadId?: string } | undefined)?.threadId;
      if (name === 'proactiveIntervention' && threadId) interventionRuns.set(threadId, (interventionRuns.get(threadId) ?? 0) + 1);
    }),
  });
});

afterAll(async () => {
  for (const id of toClose) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await workers?.stop();
  await env?.teardown();
  await database?.drop();
});

const RENT_2000 = 'We assume rents near the station are about 2000 pounds a month.';
const RENT_3500 = 'Rents near the station are 3500 pounds a month, the letting agent wrote.';

const interventions = async (threadId: string) =>
  byRole(await threadMessages(database.db, threadId), 'system').filter((m) => m.metadata.kind === 'intervention');

const signalNames = async (workflowId: string) =>
  ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap((e) =>
    e.workflowExecutionSignaledEventAttributes?.signalName ? [e.workflowExecutionSignaledEventAttributes.signalName] : [],
  );

describe('step 3 and evidence', () => {
  it('an idle conversation posts "assumption contradicted" on its next turn after contradicting evidence reaches its case, once per pair', async () => {
    const userId = (await seedUser(database.db)).id;
    const caseId = await seedCase(database.db, userId, 'A second bakery in Leeds');
    const thread = await seedThread(database.db, userId, 'titled');
    await database.db.update(threads).set({ caseId }).where(eq(threads.id, thread.id));
    toClose.push(workflowIds.conversation(thread.id), workflowIds.evolveBrief(caseId));
    const options = { db: database.db, client, queues, threadId: thread.id, userId };
    const send = async (content: string) => waitForAnswer(database.db, thread.id, (await sendMessage(options, content)).id);
    const runs = () => interventionRuns.get(thread.id) ?? 0;

    await send(RENT_2000);
    const [assumption] = await eventually(
      () => database.db.select().from(signals).where(and(eq(signals.threadId, thread.id), eq(signals.type, 'assumption'))),
      (rows) => rows.length === 1,
    );
    await send('Thanks, that is noted.'); // the rules find nothing: step 3 goes idle
    const idleFrom = runs();
    await send('Good, carry on with that.');
    expect(runs()).toBe(idleFrom);

    // The pipeline: stored, ingested (linked `contradicts`), and its tell signals the conversation.
    const { evidence: item } = await storeEvidence(database.db, { caseId, userId, text: RENT_3500 });
    const ingestion = await startIngestEvidence(client, { evidenceId: item.id, caseId, userId, correlationId: randomUUID(), queues }, {
      contentHash: item.contentHash, deadline: Date.now() + 10_000,
    });
    expect(await client.workflow.getHandle(ingestion).result()).toMatchObject({ links: 1 });
    await expect.poll(() => signalNames(workflowIds.conversation(thread.id)), { timeout: 15_000 }).toContain('evidenceAdded');
    expect(await interventions(thread.id)).toEqual([]);

    await send('What does that change for us?');
    expect(runs()).toBeGreaterThan(idleFrom);
    const posted = await interventions(thread.id);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({
      role: 'system', status: 'complete', dedupKey: `intervention:assumption-contradicted:${assumption!.id}:${item.id}`,
      metadata: { rule: 'assumption-contradicted', signalId: assumption!.id, evidenceId: item.id },
    });
    expect(posted[0]!.content).toContain(RENT_3500);

    // The same item told again: step 3 runs, and posts nothing twice.
    await client.workflow.getHandle(workflowIds.conversation(thread.id)).signal(evidenceAddedSignal, { evidenceId: item.id });
    const beforeRepeat = runs();
    await send('Fine, noted again.');
    expect(runs()).toBeGreaterThan(beforeRepeat);
    expect(await interventions(thread.id)).toHaveLength(1);

    // Two more at once, one linked `contradicts`, one recorded as a contradiction with the
    // assumption: one message per turn, one per pair.
    const linked = await seedEvidence(database.db, { caseId, userId, text: 'A listing near the station asks 2900 pounds a month.' });
    await seedLink(database.db, { caseId, evidenceId: linked.id, signalId: assumption!.id, relation: 'contradicts' });
    const recorded = await seedEvidence(database.db, { caseId, userId, text: 'The council says rents by the station reached 3100 pounds.' });
    await seedContradiction(database.db, { caseId, left: { kind: 'evidence', id: recorded.id }, right: { kind: 'signal', id: assumption!.id } });
    await client.workflow.getHandle(workflowIds.conversation(thread.id)).signal(evidenceAddedSignal, { evidenceId: recorded.id });
    await send('And now?');
    expect((await interventions(thread.id)).map((m) => m.metadata.evidenceId)).toEqual([item.id, linked.id]);
    await send('Go on.');
    expect((await interventions(thread.id)).map((m) => m.metadata.evidenceId)).toEqual([item.id, linked.id, recorded.id]);
  }, 90_000);
});
