/**
 * `npx tsx bench/working-views-cost.ts [cases]`: what a refresh of the working views costs chat
 * (README: Maintenance). A fresh database (the embedded PGlite; with DATABASE_URL also a fresh
 * database on that server) holds `cases` cases (default 2000) of 100 users, each with 2 threads,
 * 20 signals, 3 documents, 5 items of evidence, a contradiction and 2 brief versions. A chat-turn
 * probe (one transaction: read the thread and its last 20 messages, insert a message, bump the
 * thread's turn) runs back to back, first alone, then while each view refreshes through the
 * job's own activity (plain on the embedded database, CONCURRENTLY on a server). Printed: each
 * refresh's time, and the probe's p50 / p95 / max alone and during the refreshes.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { createDb } from '../activities/db/client.js';
import { startEmbeddedPostgres } from '../activities/db/embedded.js';
import { runMigrations } from '../activities/db/migrate.js';
import { refreshWorkingView } from '../activities/maintenance/working-views.js';
import { WORKING_VIEWS } from '../workflows/types.js';

const CASES = Number(process.argv[2] ?? 2000);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const fmt = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

async function seed(sql: postgres.Sql): Promise<void> {
  await sql`insert into users (name) select 'bench-' || g from generate_series(1, 100) g`;
  await sql`insert into cases (user_id, title) select u.id, 'case ' || g from generate_series(1, ${CASES}) g join lateral (select id from users order by name offset (g % 100) limit 1) u on true`;
  await sql`insert into threads (user_id, case_id, title) select c.user_id, c.id, 'thread' from cases c, generate_series(1, 2)`;
  await sql`insert into signals (thread_id, case_id, type, text, text_hash, confidence, temperature)
    select t.id, t.case_id, (array['goal','risk','assumption','question'])[1 + g % 4], 'signal ' || g || ' ' || t.id, md5(g || ' ' || t.id), 0.7, (array['hot','warm','cold'])[1 + g % 3]
    from threads t, generate_series(1, 10) g`;
  await sql`insert into messages (thread_id, role, content, status) select t.id, 'user', 'hello ' || g, 'complete' from threads t, generate_series(1, 10) g`;
  await sql`insert into documents (case_id, user_id, source, title, content_type, content_hash, content, processing_status)
    select c.id, c.user_id, 'upload', 'doc ' || g, 'text/plain', md5(c.id || ' ' || g), 'x', 'completed' from cases c, generate_series(1, 3) g`;
  await sql`insert into evidence (case_id, user_id, text, content_hash, status) select c.id, c.user_id, 'item ' || g, md5('e' || c.id || g), 'completed' from cases c, generate_series(1, 5) g`;
  await sql`insert into briefs (case_id, version, sections, grounding, evolution_key) select c.id, g, '[]', 0.5, c.id || ':' || g from cases c, generate_series(1, 2) g`;
}

async function probeWhile(sql: postgres.Sql, threadIds: string[], busy: Promise<unknown> | null, count = 200): Promise<number[]> {
  const times: number[] = [];
  let done = false;
  void busy?.finally(() => { done = true; });
  for (let i = 0; busy ? !done : i < count; i++) {
    const threadId = threadIds[i % threadIds.length]!;
    const started = performance.now();
    await sql.begin(async (tx) => {
      await tx`select * from threads where id = ${threadId}`;
      await tx`select id, role, content from messages where thread_id = ${threadId} order by seq desc limit 20`;
      await tx`insert into messages (thread_id, role, content, status) values (${threadId}, 'user', 'probe', 'pending')`;
      await tx`update threads set user_turns = user_turns + 1 where id = ${threadId}`;
    });
    times.push(performance.now() - started);
  }
  return times;
}

async function measure(label: string, url: string): Promise<void> {
  await runMigrations(url);
  const handle = createDb(url, { poolMax: 4, statementTimeoutMs: 600_000 });
  const probe = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const seeding = performance.now();
    await seed(handle.sql);
    const threadIds = (await handle.sql<{ id: string }[]>`select id from threads limit 500`).map((r) => r.id);
    console.log(`${label}: ${CASES} cases, ${CASES * 2} threads, ${CASES * 20} signals seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
    console.log(`  chat probe alone: ${fmt(await probeWhile(probe, threadIds, null))}`);
    for (const view of WORKING_VIEWS) {
      const refresh = refreshWorkingView(handle.db, { view, dryRun: false });
      const during = await probeWhile(probe, threadIds, refresh);
      const report = await refresh;
      console.log(`  refresh ${view} (${report.mode}): ${report.durationMs} ms, ${report.rows} rows; chat probe during it: ${fmt(during)}`);
    }
  } finally {
    await probe.end({ timeout: 5 });
    await handle.close();
  }
}

const embedded = await startEmbeddedPostgres({ port: 0 });
try {
  await measure('embedded (PGlite)', embedded.url);
} finally {
  await embedded.stop();
}
const server = process.env.DATABASE_URL;
if (server) {
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  const name = `bench_views_${randomUUID().slice(0, 8)}`;
  await admin.unsafe(`create database ${name}`);
  try {
    const url = new URL(server);
    url.pathname = `/${name}`;
    await measure('PostgreSQL server', url.toString());
  } finally {
    await admin.unsafe(`drop database ${name} with (force)`);
    await admin.end({ timeout: 5 });
  }
}
