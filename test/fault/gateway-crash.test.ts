/**
 * Fault test (issue 11, defect 8): the gateway killed between the message's commit and its
 * signal. Simulated exactly: `storeUserMessage` (the hand-off's first half) without
 * `signalConversation`. The redelivery job (`redeliverMessages` on the maintenance queue,
 * which the schedule runs every minute) must re-send each such message to its
 * conversation, whether none runs, one runs idle, or one is busy with later messages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { storeUserMessage } from '../../api/chat-handoff.js';
import { eventually, threadMessages, waitForAnswer } from '../helpers/chat.js';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { ROOT, sleep } from '../helpers/child-process.js';
import { uniqueId } from '../helpers/temporal.js';
import { startFaultStack, type FaultStack } from './harness.js';

const REDELIVERY_AFTER_MS = 1_000;

/** The redelivery workflow is part of the worker's workflows only once it is exported. */
function redeliveryBuilt(): boolean {
  return /\bredeliverMessages\b/.test(readFileSync(join(ROOT, 'workflows/index.ts'), 'utf8'));
}

describe('the gateway killed between the commit and the signal', () => {
  let stack: FaultStack;

  beforeAll(async () => {
    stack = await startFaultStack({
      label: 'gateway',
      temporalAddress: inject('temporalAddress'),
      workerEnv: { CHAT_REDELIVERY_AFTER_MS: String(REDELIVERY_AFTER_MS) },
    });
    await stack.startWorker({ FAULT_REPLY_DELAY_MS: 100 });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('answers messages that were stored but never signalled, through the redelivery job', async () => {
    expect(redeliveryBuilt(), 'workflows/index.ts exports no `redeliverMessages`: the redelivery job (defect 8) is not built').toBe(true);
    const { db, userId } = stack;
    const [fresh, idle, busy] = await stack.newThreads(3);
    const earlier = await stack.send(idle!, 'An earlier question: what is the budget?');
    await waitForAnswer(db, idle!, earlier.id, 30_000);

    const store = async (threadId: string, what: string) => (await storeUserMessage(db, userId, threadId, what)).message.id;
    const lost = [
      await store(fresh!, 'Stored, never signalled, and no conversation runs yet.'),
      await store(idle!, 'Stored, never signalled, while the conversation waits.'),
      await store(busy!, 'Stored, never signalled, and a later message is signalled.'),
    ];
    const later = await stack.send(busy!, 'A later message, signalled as usual.');
    await waitForAnswer(db, busy!, later.id, 30_000);
    await sleep(REDELIVERY_AFTER_MS + 500);
    const before = (await Promise.all([fresh!, idle!, busy!].map((t) => threadMessages(db, t)))).flat();
    expect(lost.map((id) => before.find((r) => r.id === id)?.status), 'nothing answered them before the redelivery').toEqual(['pending', 'pending', 'pending']);

    const report = await stack.client.workflow.execute('redeliverMessages', {
      taskQueue: stack.queues.maintenance,
      workflowId: uniqueId('fault-redeliver'),
      args: [{ queues: stack.queues }],
      workflowExecutionTimeout: '60 seconds',
    });
    console.log(`[gateway-crash] redelivery report: ${JSON.stringify(report)}`);
    const answered = await eventually(
      async () => (await Promise.all([fresh!, idle!, busy!].map((t) => threadMessages(db, t)))).flat(),
      (rows) => lost.every((id) => rows.find((r) => r.id === id)?.status !== 'pending'),
      60_000,
    ).then(() => true, () => false);
    const left = (await Promise.all([fresh!, idle!, busy!].map((t) => threadMessages(db, t)))).flat().filter((r) => lost.includes(r.id) && r.status === 'pending');
    expect(answered, `not answered within 60 s of the redelivery: ${left.map((r) => `${r.id.slice(0, 8)} ${JSON.stringify(r.content)}`).join('; ')}`).toBe(true);
    // No model call fails here: every message, redelivered or not, must be answered `complete`.
    await expectChatInvariants(db, [fresh!, idle!, busy!], { sent: [earlier.id, later.id, ...lost], requireComplete: true, timeoutMs: 30_000, settleMs: 10_000 });
  }, 180_000);
});
