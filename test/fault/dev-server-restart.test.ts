/**
 * Fault test (issue 11; notes/reliability.md T6): the Temporal dev server restarted in the
 * middle of a conversation. The test owns the server (its own SQLite file and port), sends
 * bursts while replies are being written, kills the server (SIGTERM, then in another run
 * SIGKILL), starts it again on the same file and port, and lets the worker reconnect (or
 * restarts the worker if it gave up). Every message must be answered, `complete` (no model
 * call fails here), and the threads must go on answering after the restart.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { exitsWithin, sleep } from '../helpers/child-process.js';
import { createOwnedTemporal, type OwnedTemporal } from '../helpers/owned-temporal.js';
import { sendBursts, startFaultStack, type FaultStack } from './harness.js';

const THREADS = 10;
const REPLY_DELAY_MS = 1_000;
const DOWN_MS = 3_000;
/** How long the worker gets to show it survived the restart (it may give up and exit). */
const WORKER_WATCH_MS = 10_000;

describe('the Temporal dev server restarted mid-conversation', () => {
  let temporal: OwnedTemporal | undefined;
  let stack: FaultStack | undefined;

  beforeAll(async () => {
    temporal = await createOwnedTemporal();
    stack = await startFaultStack({ label: 'devserver', temporalAddress: temporal.address });
    await stack.startWorker({ FAULT_REPLY_DELAY_MS: REPLY_DELAY_MS });
  });

  afterAll(async () => {
    await stack?.close();
    await temporal?.destroy();
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`answers every message across a ${signal} restart of the server`, async () => {
      const s = stack!;
      const server = temporal!;
      const threads = await s.newThreads(THREADS);
      const sent = await sendBursts(s, threads, threads.map((_, i) => 2 + (i % 2)), `before the ${signal}`);
      // The first replies of each burst are being written now.
      await sleep(REPLY_DELAY_MS / 2);
      const code = await server.kill(signal);
      await sleep(DOWN_MS);
      await server.start();
      const worker = s.worker()!;
      const gaveUp = await exitsWithin(worker, WORKER_WATCH_MS);
      console.log(`[dev-server-restart] ${signal}: server exited with ${code}; the worker ${gaveUp ? `exited (${worker.proc.exitCode ?? worker.proc.signalCode}) and is restarted` : 'reconnected'}`);
      if (gaveUp) {
        console.log(`[dev-server-restart] worker output:\n${worker.output().slice(-3000)}`);
        await s.startWorker({ FAULT_REPLY_DELAY_MS: REPLY_DELAY_MS });
      }
      sent.push(...(await sendBursts(s, threads, threads.map(() => 1), `after the ${signal}`)));
      await expectChatInvariants(s.db, threads, { sent, requireComplete: true, timeoutMs: 120_000, settleMs: 25_000 });
    }, 200_000);
  }
});
