/**
 * Search over one case (issue 17): `retrieve` at 10 000 and 100 000 passages (80 % chunks,
 * 10 % evidence, 10 % signals; bench/search-corpus.ts, bulk SQL, `local` 256-d vectors), on
 * the PostgreSQL server and the embedded database, over a fixed mix of narrow and broad
 * queries, beside the implementation before the vector cache (bench/search-before.ts: every
 * search reads the case's vectors, at most 10 000 per kind, and ranks every full-text
 * match) in the same run. Recall@10 of each vector side against exact cosine over every row
 * of the case, computed here from all its vectors. Also timed: the first search of a case
 * (the cache loads it) and a search right after a write to the case (the cache catches up
 * by a diff of ids). Knobs: BENCH_SEARCH_PASSAGES (default `10000,100000`; `--quick`:
 * `2000,10000`), BENCH_SEARCH_EMBEDDED_MAX (largest size seeded embedded, default 100000),
 * BENCH_SEARCH_BEFORE_SAMPLES (searches timed for the baseline, default 16).
 */
import { and, eq, ne, sql } from 'drizzle-orm';
import { createDb, type Db } from '../../activities/db/client.js';
import { chunks, documents, evidence, signals } from '../../activities/db/schema/index.js';
import { cosineSimilarity, createLocalEmbedder, hashEmbedding } from '../../activities/llm/local-embedder.js';
import { retrievalSettings, retrieve } from '../../activities/retrieval/index.js';
import { decodeRealArray } from '../../activities/retrieval/real-array.js';
import { vectorCacheOf } from '../../activities/retrieval/vector-cache.js';
import type { BenchDatabase } from '../harness.js';
import { emptyResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { BEFORE_BOUNDS, retrieveBefore, vectorSideBefore } from '../search-before.js';
import { SEARCH_DIMENSIONS, SEARCH_QUERIES, seedSearchCase } from '../search-corpus.js';
import { summarize } from '../stats.js';

const WORDS = { postgres: 'PostgreSQL server', embedded: 'embedded' } as const;
const K = 10;

function sizes(quick: boolean): number[] {
  const raw = process.env.BENCH_SEARCH_PASSAGES ?? (quick ? '2000,10000' : '10000,100000');
  return raw.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 100) throw new Error(`BENCH_SEARCH_PASSAGES: "${raw}" is not a list of integers ≥ 100`);
    return n;
  });
}
const envInt = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const label = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

/** Every searchable vector of the case, whatever the bounds: the exact answer's input. */
async function allVectors(db: Db, caseId: string): Promise<{ kind: string; id: string; v: number[] }[]> {
  const read = async (kind: string, rows: Promise<{ id: string; e: Uint8Array }[]>) =>
    (await rows).flatMap((r) => {
      const v = decodeRealArray(r.e);
      return v ? [{ kind, id: r.id, v }] : [];
    });
  const e = <T extends { embedding: unknown }>(t: T) => sql<Uint8Array>`array_send(${t.embedding})`;
  return (
    await Promise.all([
      read('chunk', db.select({ id: chunks.id, e: e(chunks) }).from(chunks).innerJoin(documents, eq(documents.id, chunks.documentId))
        .where(and(eq(chunks.caseId, caseId), eq(documents.processingStatus, 'completed')))),
      read('evidence', db.select({ id: evidence.id, e: e(evidence) }).from(evidence).where(and(eq(evidence.caseId, caseId), ne(evidence.status, 'failed')))),
      read('signal', db.select({ id: signals.id, e: e(signals) }).from(signals).where(and(eq(signals.caseId, caseId), eq(signals.status, 'active')))),
    ])
  ).flat();
}

function exactTop(all: { kind: string; id: string; v: number[] }[], q: number[]): string[] {
  return all
    .map((r) => ({ key: `${r.kind}:${r.id}`, s: cosineSimilarity(q, r.v) }))
    .filter((r) => r.s > 0)
    .sort((a, b) => b.s - a.s || (a.key < b.key ? -1 : 1))
    .slice(0, K)
    .map((r) => r.key);
}

const recall = (found: string[], exact: string[]) => (exact.length === 0 ? 1 : found.filter((k) => exact.includes(k)).length / exact.length);

async function timeMix(samples: number, fn: (q: (typeof SEARCH_QUERIES)[number]) => Promise<unknown>): Promise<{ all: number[]; narrow: number[]; broad: number[] }> {
  const out = { all: [] as number[], narrow: [] as number[], broad: [] as number[] };
  for (let i = 0; i < samples; i++) {
    const q = SEARCH_QUERIES[i % SEARCH_QUERIES.length]!;
    const started = performance.now();
    await fn(q);
    const took = performance.now() - started;
    out.all.push(took);
    out[q.kind].push(took);
  }
  return out;
}

async function runOne(ctx: ScenarioContext, database: BenchDatabase, passages: number, result: ScenarioResult): Promise<void> {
  const where = `${label(passages)} passages, ${WORDS[database.label]}`;
  const handle = createDb(database.url, { poolMax: 4, statementTimeoutMs: 600_000 });
  try {
    let started = performance.now();
    const seeded = await seedSearchCase(handle.sql, passages);
    result.notes.push({ label: `search seed, ${where}`, value: `${((performance.now() - started) / 1000).toFixed(1)} s by bulk SQL (${JSON.stringify(seeded.counts)})` });
    const { db } = handle;
    const embedder = createLocalEmbedder(SEARCH_DIMENSIONS);
    const settings = retrievalSettings();
    const search = (query: string) => retrieve(db, embedder, { caseId: seeded.caseId, query, k: K }, settings);

    started = performance.now();
    const first = await search(SEARCH_QUERIES[0]!.query);
    result.notes.push({ label: `search, first of the case (the cache loads it), ${where}`, value: `${(performance.now() - started).toFixed(0)} ms; ${first.vectors.read} vectors` });

    // Recall@10 of both vector sides against exact cosine over every row of the case.
    const all = await allVectors(db, seeded.caseId);
    const recalls = { now: [] as number[], before: [] as number[] };
    let capped = false;
    for (const { query } of SEARCH_QUERIES) {
      const q = hashEmbedding(query, SEARCH_DIMENSIONS);
      const exact = exactTop(all, q);
      const wide = await retrieve(db, embedder, { caseId: seeded.caseId, query, k: 200 }, settings);
      capped ||= wide.fullTextCapped;
      const nowTop = wide.passages.filter((p) => p.scores.vectorRank !== null && p.scores.vectorRank <= K).map((p) => `${p.kind}:${p.kind === 'chunk' ? p.chunkId : p.kind === 'evidence' ? p.evidenceId : p.signalId}`);
      recalls.now.push(recall(nowTop, exact));
      const before = await vectorSideBefore(db, seeded.caseId, q, BEFORE_BOUNDS);
      recalls.before.push(recall(before.candidates.slice(0, K).map((c) => `${c.kind}:${c.id}`), exact));
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    result.notes.push({
      label: `vector recall@10 against exact cosine over all ${all.length} vectors, ${where}`,
      value: `now ${mean(recalls.now).toFixed(3)} (min ${Math.min(...recalls.now).toFixed(2)}); before ${mean(recalls.before).toFixed(3)} (min ${Math.min(...recalls.before).toFixed(2)}, it read at most ${BEFORE_BOUNDS.maxVectors} per kind)`,
    });
    result.notes.push({ label: `full-text capped (a source matched more than ${settings.maxRanked} rows), ${where}`, value: capped ? 'yes, for the broad queries' : 'no' });

    await timeMix(ctx.options.warmup, (q) => search(q.query));
    const now = await timeMix(ctx.options.samples, (q) => search(q.query));
    result.latency.push({ label: `search, ${where}`, summary: summarize(now.all) });
    result.latency.push({ label: `search, narrow queries, ${where}`, summary: summarize(now.narrow) });
    result.latency.push({ label: `search, broad queries, ${where}`, summary: summarize(now.broad) });

    // A search right after a write to the case: one evidence item added, the cache catches up by a diff.
    const afterWrite: number[] = [];
    for (let i = 0; i < 5; i++) {
      const text = `report ${passages + i} written during the bench: quokka budget`;
      await handle.sql`insert into evidence (case_id, user_id, text, content_hash, status, embedding)
        values (${seeded.caseId}, ${seeded.userId}, ${text}, md5(${text}), 'completed', ${`{${hashEmbedding(text, SEARCH_DIMENSIONS).join(',')}}`}::real[])`;
      const t0 = performance.now();
      await search(SEARCH_QUERIES[i % SEARCH_QUERIES.length]!.query);
      afterWrite.push(performance.now() - t0);
    }
    result.latency.push({ label: `search right after a write to the case, ${where}`, summary: summarize(afterWrite) });

    const beforeSamples = Math.min(ctx.options.samples, envInt('BENCH_SEARCH_BEFORE_SAMPLES', 16));
    await retrieveBefore(db, seeded.caseId, SEARCH_QUERIES[0]!.query, hashEmbedding(SEARCH_QUERIES[0]!.query, SEARCH_DIMENSIONS), K);
    const before = await timeMix(beforeSamples, (q) => retrieveBefore(db, seeded.caseId, q.query, hashEmbedding(q.query, SEARCH_DIMENSIONS), K));
    result.latency.push({ label: `search before the cache, ${where}`, summary: summarize(before.all) });
    result.latency.push({ label: `search before the cache, broad queries, ${where}`, summary: summarize(before.broad) });

    const p50 = summarize(now.all).p50;
    const goal = passages <= 10_000 ? 50 : 250;
    if (database.label === 'postgres' && (passages === 10_000 || passages === 100_000)) {
      result.notes.push({ label: `goal p50 ≤ ${goal} ms at ${label(passages)} on the server`, value: `${p50.toFixed(1)} ms: ${p50 <= goal ? 'met' : '**not met**'}` });
    }
    const held = vectorCacheOf(db, settings.vectorCacheBytes).held();
    result.notes.push({ label: `vector cache after the run, ${where}`, value: `${held.sets} sets, ${(held.bytes / 2 ** 20).toFixed(1)} MiB` });
  } finally {
    await handle.close();
  }
}

export const search: Scenario = {
  name: 'search',
  description: 'retrieve at 10k and 100k passages in one case, on both databases, beside the implementation before the vector cache; vector recall@10',
  async run(ctx) {
    const result = emptyResult();
    const embeddedMax = envInt('BENCH_SEARCH_EMBEDDED_MAX', 100_000);
    for (const database of await ctx.harness.databases()) {
      for (const passages of sizes(ctx.options.quick)) {
        if (database.label === 'embedded' && passages > embeddedMax) {
          result.notes.push({ label: `${label(passages)} passages, embedded`, value: `skipped (BENCH_SEARCH_EMBEDDED_MAX=${embeddedMax})` });
          continue;
        }
        console.log(`  search: ${label(passages)} passages, ${WORDS[database.label]}`);
        await runOne(ctx, database, passages, result);
      }
    }
    return result;
  },
};
