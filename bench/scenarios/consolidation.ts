/**
 * Issue 18: what consolidating signals costs as they grow. 1k, 10k and 100k signals at 100 a
 * scope (10, 100, 1 000 threads), each consolidated the way a child of the fan-out does it (the
 * activity's work, `consolidateScope`, four scopes at a time as SIGNAL_CONSOLIDATION_CONCURRENCY
 * says; Temporal's own cost per child is not in it), timed beside one SQL pass that reads the
 * same rows (id, confidence, dates, embedding) in the same run. The first pass merges (a tenth
 * of the signals are near-duplicates), decays and archives (ages spread over 90 days); the
 * second is a second run for the same date: it reads and changes nothing. Then one scope of
 * 5 000 signals, to show the pairwise cost of the dedup. 64-dimension vectors; the PostgreSQL
 * server only (the embedded one serialises every statement: Databases).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { createDb } from '../../activities/db/client.js';
import { consolidateScope } from '../../activities/maintenance/consolidation.js';
import { DAY_MS } from '../../activities/maintenance/signal-maths.js';
import { SIGNAL_MAINTENANCE_DEFAULTS } from '../../workers/config.js';
import { emptyResult, ratio, type Scenario } from '../scenario.js';

const DIMS = 64;
const PER_SCOPE = 100;
const SIZES = [1_000, 10_000, 100_000];
const BIG_SCOPE = 5_000;
const CONCURRENCY = SIGNAL_MAINTENANCE_DEFAULTS.concurrency;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function randomUnit(): number[] {
  const v = Array.from({ length: DIMS }, () => Math.random() * 2 - 1);
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/** `count` signals in `scopes` threads of one user: every tenth a near-duplicate of the one before. */
async function seed(sql: postgres.Sql, userId: string, scopes: number, perScope: number, nominalMs: number): Promise<string[]> {
  const threadIds = Array.from({ length: scopes }, () => randomUUID());
  await sql`insert into threads ${sql(threadIds.map((id) => ({ id, user_id: userId })))}`;
  const rows = [];
  for (const threadId of threadIds) {
    let last = randomUnit();
    for (let i = 0; i < perScope; i++) {
      const embedding = i % 10 === 9 ? last.map((x) => x + (Math.random() - 0.5) * 0.01) : randomUnit();
      last = embedding;
      const confidence = 0.5 + Math.random() * 0.5;
      const seen = new Date(nominalMs - Math.random() * 90 * DAY_MS);
      rows.push({
        thread_id: threadId, type: 'assumption', text: `signal ${randomUUID()}`, text_hash: randomUUID(), confidence,
        base_confidence: confidence, embedding: `{${embedding.join(',')}}`, first_seen_at: seen, last_seen_at: seen,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 2_000) await sql`insert into signals ${sql(rows.slice(i, i + 2_000))}`;
  return threadIds;
}

async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export const consolidation: Scenario = {
  name: 'consolidation',
  description: 'signal consolidation at 1k/10k/100k signals (100 a scope) beside one SQL pass over the same rows, and one scope of 5k',
  async run(ctx) {
    const result = emptyResult();
    const server = (await ctx.harness.databases()).find((d) => d.label === 'postgres')!;
    const sql = postgres(server.url, { max: 8, onnotice: () => {} });
    const handle = createDb(server.url, { poolMax: 8 });
    const policy = { ...SIGNAL_MAINTENANCE_DEFAULTS };
    const nominalMs = Date.UTC(2026, 11, 7);
    try {
      const [user] = await sql<{ id: string }[]>`insert into users (name) values (${`bench-${randomUUID()}`}) returning id`;
      const perScope: number[] = [];
      for (const size of SIZES) {
        const threadIds = await seed(sql, user!.id, size / PER_SCOPE, PER_SCOPE, nominalMs);
        await sql`analyze signals`;
        const readStart = performance.now();
        const read = await sql`select id, confidence, base_confidence, first_seen_at, last_seen_at, embedding from signals where thread_id in ${sql(threadIds)} and status = 'active'`;
        const readMs = performance.now() - readStart;
        const timed = async () => {
          const started = performance.now();
          let merged = 0;
          await pool(threadIds, CONCURRENCY, async (id) => {
            const r = await consolidateScope(handle.db, policy, { scope: { kind: 'thread', id }, nominalMs });
            if ('merged' in r) merged += r.merged;
          });
          return { ms: performance.now() - started, merged };
        };
        const first = await timed();
        const second = await timed();
        perScope.push(first.ms / threadIds.length);
        result.notes.push({
          label: `${size} signals, ${threadIds.length} threads`,
          value: `one SQL pass ${fmt(readMs)} (${read.length} rows); consolidation ${fmt(first.ms)} (merged ${first.merged}, decayed and archived as due), again for the same date ${fmt(second.ms)} (merged ${second.merged})`,
        });
        result.ratios.push(ratio(`${size}: consolidation / one SQL pass`, first.ms / readMs, { atMost: 2 }));
        result.ratios.push(ratio(`${size}: second run / one SQL pass`, second.ms / readMs, { atMost: 2 }));
      }
      result.notes.push({ label: 'per scope, 10 → 1 000 scopes', value: perScope.map((ms) => fmt(ms)).join(' → ') + ' (flat is linear in scopes)' });
      const [big] = await seed(sql, user!.id, 1, BIG_SCOPE, nominalMs);
      const bigStart = performance.now();
      const bigResult = await consolidateScope(handle.db, policy, { scope: { kind: 'thread', id: big! }, nominalMs });
      result.notes.push({
        label: `one scope of ${BIG_SCOPE}`,
        value: `${fmt(performance.now() - bigStart)} (${'merged' in bigResult ? bigResult.merged : 0} merged; the dedup compares every pair: ${((BIG_SCOPE * (BIG_SCOPE - 1)) / 2 / 1e6).toFixed(1)} M pairs)`,
      });
    } finally {
      await handle.close();
      await sql.end({ timeout: 5 });
    }
    return result;
  },
};
