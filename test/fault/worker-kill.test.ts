/**
 * Fault test (issue 11): the worker SIGKILLed while replies are being written and right
 * after a reply's commit (before its result reaches Temporal), in bursts. Five cycles over
 * 20 threads: start the worker child with a fault armed, send each thread a burst of 2-4
 * messages through the real hand-off, let the fault kill it, and restart.
 * Each armed fault must fire (the worker prints `fault: SIGKILL …` and dies), or the cycle
 * tested nothing. Then a clean worker finishes, and every message must be answered exactly
 * once, and `complete`: no model call fails here, so a kill may cost an attempt, never a message.
 * The conversation under test is workflows/chat/conversation.ts with its modules
 * (assistant-response.ts, after-reply.ts: steps 5-6 and the title, patches.ts, and the
 * agent catalog it dispatches from), so the kills land in all of them.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { exitsWithin, sleep } from '../helpers/child-process.js';
import { faultLines, sendBursts, startFaultStack, type FaultStack, type Faults } from './harness.js';
import { between, seeded } from '../helpers/random.js';

const CYCLES = 5;
const THREADS = 20;
const SEED = Number(process.env.FAULT_SEED ?? 11);
/** Slow enough that a kill lands mid-reply, fast enough for 5 cycles in about a minute. */
const REPLY_DELAY_MS = 500;
/** How long an armed fault gets to fire: it must, or the cycle proves nothing. */
const FAULT_FIRE_WAIT_MS = 30_000;

describe('worker SIGKILL during a reply and after its commit, in bursts', () => {
  let stack: FaultStack;

  beforeAll(async () => {
    stack = await startFaultStack({ label: 'kill', temporalAddress: inject('temporalAddress') });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it(`answers every message exactly once across ${CYCLES} kill cycles on ${THREADS} threads`, async () => {
    const random = seeded(SEED);
    const threads = await stack.newThreads(THREADS);
    const sent: string[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      // Odd cycles die while a reply is in flight, even ones just after a reply committed.
      const armed: Faults =
        cycle % 2 === 1
          ? { FAULT_KILL_DURING_REPLY: between(random, 4, 15) }
          : { FAULT_KILL_AFTER_REPLY_COMMIT: between(random, 4, 15) };
      const worker = await stack.startWorker({ FAULT_REPLY_DELAY_MS: REPLY_DELAY_MS, FAULT_SEED: SEED + cycle, ...armed });
      const sizes = threads.map(() => between(random, 2, 4));
      sent.push(...(await sendBursts(stack, threads, sizes, `cycle ${cycle}`)));
      const exited = await exitsWithin(worker, FAULT_FIRE_WAIT_MS);
      const fired = worker.output().split('\n').filter((l) => l.startsWith('fault: SIGKILL'));
      console.log(`[worker-kill] cycle ${cycle}: ${JSON.stringify(armed)}, ${sizes.reduce((a, b) => a + b, 0)} messages, ${fired[0] ?? 'the fault did not fire'}`);
      if (!exited) await stack.killWorker();
      expect(exited && fired.length === 1, `cycle ${cycle}: the armed fault ${JSON.stringify(armed)} did not kill the worker within ${FAULT_FIRE_WAIT_MS / 1000} s; its output:\n${worker.output().slice(-3000)}`).toBe(true);
      // Let the server notice the dead worker's open tasks before the next one starts.
      await sleep(500);
    }
    await stack.startWorker({ FAULT_REPLY_DELAY_MS: 50 });
    console.log(`[worker-kill] injected:\n  ${faultLines(stack.workerLog()).join('\n  ')}`);
    // No model failure is injected: a kill may cost an attempt, never a message.
    await expectChatInvariants(stack.db, threads, { sent, requireComplete: true, timeoutMs: 120_000, settleMs: 25_000 });
  }, 240_000);
});
