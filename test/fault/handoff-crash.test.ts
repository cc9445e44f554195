/**
 * Fault test (issue 17, Decision 31): real gateway processes killed by the shared hand-off's
 * crash hook (`FAULT_EXIT_BEFORE_HANDOFF=<kind>`: api/server.ts makes the process SIGKILL
 * itself once a route committed a row of that kind, before its start or signal), one per
 * kind: a user message, a document, a piece of evidence, an agent run (a structure suggestion
 * accepted in a thread with no case: the case draft's start). Each row is then committed and
 * never handed over. The redelivery job (one run, as the schedule starts it) must hand each over,
 * and each must end `completed` (the message answered): no fault may go unfired, and no row
 * may end failed or pending.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentRuns, agentSuggestions, cases, documents, evidence, messages, threads } from '../../activities/db/schema/index.js';
import { createUserWithKey } from '../../api/auth.js';
import type { redeliverMessages } from '../../workflows/index.js';
import type { HandOffKindName } from '../../activities/handoff.js';
import { eventually, seedThread } from '../helpers/chat.js';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { sleep, stopChild } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { uniqueId } from '../helpers/temporal.js';
import { post, startGateway, type Gateway } from './gateway.js';
import { startFaultStack, type FaultStack } from './harness.js';

/** Short, so the rows the gateways left count as stranded after a brief wait. */
const REDELIVERY_AFTER_MS = 1_000;
const SETTLE_TIMEOUT_MS = 60_000;

describe('the gateway killed between the commit and the hand-off, per kind', () => {
  let database: TestDatabase;
  let stack: FaultStack;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startFaultStack({
      label: 'handoff',
      temporalAddress: inject('temporalAddress'),
      databaseUrl: database.url,
      workerEnv: { CHAT_REDELIVERY_AFTER_MS: String(REDELIVERY_AFTER_MS), REDELIVERY_AFTER_MS: String(REDELIVERY_AFTER_MS) },
    });
  });

  afterAll(async () => {
    for (const g of gateways) await stopChild(g.child, 5_000);
    await stack?.close();
    await database?.drop();
  });

  it('the redelivery job hands over the message, the document, the item and the agent run each gateway died on; all end completed', async () => {
    const user = await createUserWithKey(database.db, { name: uniqueId('handoff-user'), admin: false });
    const thread = await seedThread(database.db, user.userId, 'a titled thread');
    const [theCase] = await database.db.insert(cases).values({ userId: user.userId, title: 'the case' }).returning({ id: cases.id });
    const caseId = theCase!.id;
    // A thread with no case and a structure suggestion: accepting it commits the case draft's run.
    const caseless = await seedThread(database.db, user.userId, 'a thread to draft from');
    const [suggestion] = await database.db
      .insert(agentSuggestions)
      .values({ threadId: caseless.id, kind: 'structure', agentType: 'structure', confidence: 0.9, reason: 'ready', turn: 4 })
      .returning();
    const requests: Record<HandOffKindName, { path: string; body: object }> = {
      message: { path: `/v1/threads/${thread.id}/messages`, body: { content: 'Stored, and the gateway died before its signal.' } },
      document: { path: `/v1/cases/${caseId}/documents`, body: { title: 'plan.md', contentType: 'text/markdown', content: '# Plan\n\nWe open in spring; the ovens are leased.' } },
      evidence: { path: `/v1/cases/${caseId}/evidence`, body: { text: 'Rents near the station are 2000 pounds a month, the agent wrote.' } },
      'agent-run': { path: `/v1/threads/${caseless.id}/suggestions/${suggestion!.id}/accept`, body: {} },
    };
    const kinds = Object.keys(requests) as HandOffKindName[];
    const prefix = stack.queues.chat.slice(0, -'chat'.length);
    const [, started] = await Promise.all([
      stack.startWorker(),
      Promise.all(kinds.map((kind) => startGateway(`gateway (dies before the ${kind} hand-off)`, {
        databaseUrl: database.url, temporalAddress: inject('temporalAddress'), queuePrefix: prefix, env: { FAULT_EXIT_BEFORE_HANDOFF: kind },
      }))),
    ]);
    gateways.push(...started);

    // Each request dies with its gateway, which killed itself (a signal, no exit code).
    const fired = await Promise.all(kinds.map(async (kind, i) => {
      const gateway = started[i]!;
      const answer = await post(gateway, user.key, requests[kind].path, requests[kind].body).then((a) => `answered ${a.status}`, () => 'died');
      return { kind, answer, exitCode: await gateway.child.exited };
    }));
    expect(fired, 'every armed fault fired: the request died with its gateway').toEqual(kinds.map((kind) => ({ kind, answer: 'died', exitCode: null })));

    // Committed, never handed over: each row is pending, and nothing started it.
    const [message] = await database.db.select().from(messages).where(eq(messages.threadId, thread.id));
    const [document] = await database.db.select().from(documents).where(eq(documents.caseId, caseId));
    const [item] = await database.db.select().from(evidence).where(eq(evidence.caseId, caseId));
    const [run] = await database.db.select().from(agentRuns).where(eq(agentRuns.threadId, caseless.id));
    expect([message?.status, document?.processingStatus, item?.status, run?.status]).toEqual(['pending', 'pending', 'pending', 'pending']);

    await sleep(REDELIVERY_AFTER_MS + 500);
    const report = await stack.client.workflow.execute<typeof redeliverMessages>('redeliverMessages', {
      taskQueue: stack.queues.maintenance,
      workflowId: uniqueId('fault-handoff-redeliver'),
      args: [{ queues: stack.queues }],
      workflowExecutionTimeout: '60 seconds',
    });
    console.log(`[handoff-crash] redelivery report: ${JSON.stringify(report)}`);
    expect({ messages: report.messages.resent, documents: report.documents.resent, evidence: report.evidence.resent, agentRuns: report.agentRuns.resent })
      .toEqual({ messages: 1, documents: 1, evidence: 1, agentRuns: 1 });

    const statuses = async () => ({
      document: (await database.db.select().from(documents).where(eq(documents.id, document!.id)))[0]?.processingStatus,
      evidence: (await database.db.select().from(evidence).where(eq(evidence.id, item!.id)))[0]?.status,
      draft: (await database.db.select().from(agentRuns).where(eq(agentRuns.id, run!.id)))[0]?.status,
    });
    const busy = ['pending', 'processing', 'running'];
    const settled = await eventually(statuses, (s) => !busy.includes(s.document ?? 'pending') && !busy.includes(s.evidence ?? 'pending') && !busy.includes(s.draft ?? 'pending'), SETTLE_TIMEOUT_MS)
      .catch(() => undefined);
    expect(settled ?? (await statuses()), `not settled within ${SETTLE_TIMEOUT_MS / 1000} s; worker output:\n${stack.workerLog().slice(-3000)}`)
      .toEqual({ document: 'completed', evidence: 'completed', draft: 'completed' });
    const [drafted] = await database.db.select().from(threads).where(eq(threads.id, caseless.id));
    expect(drafted?.caseId, 'the swept draft drafted the thread\'s case').toEqual(expect.any(String));
    await expectChatInvariants(database.db, [thread.id], { sent: [message!.id], requireComplete: true, timeoutMs: 30_000, settleMs: 2_000 });
  }, 150_000);
});
