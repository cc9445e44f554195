/**
 * Fault test (issue 11, defect 1): a conversation that continues as new after every reply
 * (`maxTurnsPerRun: 1`) while the rest of a burst arrives during that reply, and one that
 * closes when idle while messages arrive just before and just after its idle timeout. No
 * process is killed: the races are between signals and the workflow tasks that end a run.
 * Every message must be answered exactly once, and `complete` (no model call fails here).
 */
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { eventually, threadMessages } from '../helpers/chat.js';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { sleep } from '../helpers/child-process.js';
import { startFaultStack, type FaultStack } from './harness.js';

const REPLY_DELAY_MS = 1_000;
const THREADS = 6;
const ROUNDS = 2;
const BURST = 5;
const IDLE_TIMEOUT_MS = 1_500;
const IDLE_THREADS = 8;
const IDLE_ROUNDS = 5;
/**
 * When the next message goes out after the previous answer is seen: spread over 1.2-2.2 s,
 * around the expiry (the timer starts after the reply's last step, a little after the test
 * sees the answer), so some land just before the close and some during it.
 */
const idleOffset = (thread: number, round: number) => 1_200 + (((thread * IDLE_ROUNDS + round) * 137) % 1_000);

describe('continue-as-new under bursts, and idle close around its timeout', () => {
  let stack: FaultStack;

  beforeAll(async () => {
    stack = await startFaultStack({ label: 'can', temporalAddress: inject('temporalAddress') });
    await stack.startWorker({ FAULT_REPLY_DELAY_MS: REPLY_DELAY_MS });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it(`answers bursts that arrive while a reply is written, with maxTurnsPerRun 1`, async () => {
    const extra = { maxTurnsPerRun: 1 };
    // A titled thread and a first message with no signal in it: no child workflow starts
    // after the reply, so nothing ends the workflow task before its continue-as-new.
    const threads = await stack.newThreads(THREADS, 'a titled thread');
    const sent: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all(
        threads.map(async (threadId, i) => {
          const first = await stack.send(threadId, `Thanks, round ${round} of thread ${i + 1} noted.`, extra);
          sent.push(first.id);
          // The rest of the burst lands while the reply to the first is being written, i.e.
          // during the workflow task that ends with continue-as-new.
          await eventually(
            () => threadMessages(stack.db, threadId),
            (rows) => rows.some((r) => r.role === 'assistant' && r.status === 'pending') || rows.find((r) => r.id === first.id)?.status !== 'pending',
            15_000,
          );
          for (let k = 2; k <= BURST; k++) {
            sent.push((await stack.send(threadId, `round ${round}, thread ${i + 1}, burst message ${k} of ${BURST}: what are the risks?`, extra)).id);
          }
        }),
      );
      await sleep(REPLY_DELAY_MS * 3);
    }
    await expectChatInvariants(stack.db, threads, { sent, requireComplete: true, timeoutMs: 90_000, settleMs: 20_000 });
  }, 180_000);

  it(`answers messages sent around a ${IDLE_TIMEOUT_MS} ms idle timeout`, async () => {
    const extra = { idleTimeoutMs: IDLE_TIMEOUT_MS };
    const threads = await stack.newThreads(IDLE_THREADS);
    const sent: string[] = [];
    const stalled: string[] = [];
    await Promise.all(
      threads.map(async (threadId, i) => {
        for (let round = 1; round <= IDLE_ROUNDS; round++) {
          // Every other round is a burst of two, so a close can race a batch too.
          const count = round % 2 === 0 ? 2 : 1;
          const ids: string[] = [];
          for (let k = 1; k <= count; k++) {
            ids.push((await stack.send(threadId, `idle round ${round}, message ${k}: what are the main risks of the plan?`, extra)).id);
          }
          sent.push(...ids);
          try {
            await eventually(
              () => threadMessages(stack.db, threadId),
              (rows) => ids.every((id) => rows.find((r) => r.id === id)?.status !== 'pending'),
              20_000,
            );
          } catch {
            stalled.push(`thread ${i + 1} round ${round}`);
            return; // the invariant check below names the messages
          }
          await sleep(idleOffset(i, round));
        }
      }),
    );
    if (stalled.length > 0) console.log(`[idle-close] not answered within 20 s: ${stalled.join('; ')}`);
    await expectChatInvariants(stack.db, threads, { sent, requireComplete: true, timeoutMs: 60_000, settleMs: 15_000 });
  }, 180_000);
});
