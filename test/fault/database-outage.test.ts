/**
 * Fault test (issue 11, defect 2; DESIGN.md Decision 28): the database gone for 10 s (and,
 * in a second run, 100 s) in the middle of a conversation. The test owns the database (a throw-away cluster stopped
 * with `-m immediate`, or the embedded server as a child process), stores and signals a
 * burst per thread, and takes the database away at once, while those replies are being
 * written. After it returns every message must be answered, none failed: an outage
 * shorter than 2 minutes fails no message.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, threadMessages } from '../helpers/chat.js';
import { expectChatInvariants } from '../helpers/chat-invariants.js';
import { sleep } from '../helpers/child-process.js';
import { createOwnedPostgres, type OwnedPostgres } from '../helpers/owned-postgres.js';
import { sendBursts, startFaultStack, type FaultStack } from './harness.js';

/**
 * 10 s is the case. On a pool whose connections the outage broke, postgres.js
 * holds queries rather than failing them, so a reply attempt tends to hang until its
 * 30 s limit instead of failing at once: 3 attempts ride out about 90 s by accident.
 * 100 s outlasts that, and is still under the 2 minutes that Decision 28 says fail no message.
 */
const OUTAGES_MS = [10_000, 100_000];
const THREADS = 8;
/** Replies take this long, so the outage begins while they are being written. */
const REPLY_DELAY_MS = 1_500;

describe('the database gone mid-conversation', () => {
  let pg: OwnedPostgres | undefined;
  let stack: FaultStack | undefined;

  beforeAll(async () => {
    pg = await createOwnedPostgres();
    console.log(`[database-outage] database: ${pg.describe()}`);
    stack = await startFaultStack({ label: 'dbdown', temporalAddress: inject('temporalAddress'), databaseUrl: pg.url });
  });

  afterAll(async () => {
    await stack?.close();
    await pg?.destroy();
  });

  for (const outageMs of OUTAGES_MS) it(`answers every message once the database is back after ${outageMs / 1000} s, and fails none`, async () => {
    const s = stack!;
    const db = pg!;
    // A fresh worker each run: how a pool broken by an earlier outage behaves is not this run's case.
    await s.stopWorker();
    await s.startWorker({ FAULT_REPLY_DELAY_MS: REPLY_DELAY_MS });
    const threads = await s.newThreads(THREADS);
    // A first turn per thread, so each conversation runs and the worker's pool is warm.
    const sent = await sendBursts(s, threads, threads.map(() => 1), 'before the outage');
    await eventually(
      async () => (await Promise.all(threads.map((t) => threadMessages(s.db, t)))).flat(),
      (rows) => sent.every((id) => rows.find((r) => r.id === id)?.status === 'complete'),
      60_000,
    );

    // Stored (the gateway's part needs the database), signalled, and then the database goes.
    sent.push(...(await sendBursts(s, threads, threads.map((_, i) => 2 + (i % 2)), 'in flight')));
    const downAt = Date.now();
    await db.stop();
    await sleep(Math.max(0, outageMs - (Date.now() - downAt)));
    await db.start();
    console.log(`[database-outage] the database was away for ${((Date.now() - downAt) / 1000).toFixed(1)} s`);

    // postgres.js 3.4.9 can die of an uncatchable write to a socket the server dropped
    // (porsager/postgres#1208; README "A known driver bug"): a supervisor restarts the worker,
    // as here, and nothing may be lost then. Any other death is a failure.
    let crash = '';
    if (!s.worker()?.alive()) {
      crash = s.workerLog().slice(-6000);
      console.log(`[database-outage] the worker exited during the outage; restarting it:\n${crash}`);
      await s.startWorker();
    }
    await expectChatInvariants(s.db, threads, { sent, requireComplete: true, timeoutMs: 120_000, settleMs: 40_000 });
    if (crash) expect(crash, 'the worker died only of the known driver bug').toMatch(/Cannot read properties of null \(reading 'write'\)|postgres[\\/]src[\\/]connection/);
  }, 300_000);
});
