/**
 * Document ingestion (issue 13): a generated corpus (bench/corpus.ts: about 200 documents
 * of ~50 KB, markdown and plain, deterministic from a seed) through the real pipeline,
 * processDocument on a real worker with the `local` embedder, started as the gateway starts
 * it (storeDocument, then startProcessDocument) with a fixed number in flight, timed from
 * the first start to the last completed run; on each database. Next to it, in the same
 * database in the same run, a raw `COPY` of the very chunk rows the pipeline stored (their
 * text, token counts and real[] vectors, read back) into a twin of `chunks` (same columns,
 * generated tsvector, indexes and foreign keys), and a batched INSERT of them. The ratio
 * pipeline chunk rows/s ÷ COPY rows/s is held to ≥ 0.5 on the PostgreSQL server.
 *
 * `COPY … FROM STDIN` is first tried against an embedded server of its own in a child
 * process: on PGlite's wire server it does not finish (see `probeEmbeddedCopy`), so the
 * embedded database's raw load is the batched INSERT, and the report says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { eq, sql as dsql } from 'drizzle-orm';
import { integer, pgTable, real, text, uuid } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { createActivities } from '../../activities/index.js';
import { createDb, type Db } from '../../activities/db/client.js';
import { cases, chunks, documents, users } from '../../activities/db/schema/index.js';
import { chunkText } from '../../activities/documents/chunk.js';
import { startProcessDocument } from '../../activities/documents/start.js';
import { storeDocument } from '../../activities/documents/store.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { createLocalEmbedder, hashEmbedding } from '../../activities/llm/local-embedder.js';
import { DOCUMENT_DEFAULTS, queueNames } from '../../workers/config.js';
import { createWorkers } from '../../workers/worker.js';
import type { ProcessDocumentResult, QueueNames } from '../../workflows/types.js';
import { startNode, stopChild, waitFor } from '../../test/helpers/child-process.js';
import { freePort } from '../../test/helpers/temporal-server.js';
import { generateCorpus, type CorpusDocument } from '../corpus.js';
import type { BenchDatabase } from '../harness.js';
import type { RateResult } from '../load.js';
import { emptyResult, ratio, type Scenario, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { summarize } from '../stats.js';
import { watchWorkflowTasks } from '../workflow-task-audit.js';

const DATABASE_WORDS = { postgres: 'PostgreSQL server', embedded: 'embedded' } as const;
/** Env knobs of this scenario (the shared flags are chat's: 50 in flight would be 50 documents). */
const SEED = envInt('BENCH_INGEST_SEED', 20_261_201);
const IN_FLIGHT = envInt('BENCH_INGEST_CONCURRENCY', 16);
const DOCUMENTS = { full: 200, quick: 40 };
const DOCUMENT_BYTES = 50_000;
/** Documents run before the timed phase (their own case), so the worker's first tasks are not timed. */
const WARMUP_DOCUMENTS = 3;
const EMBEDDING_DIMENSIONS = 256;
const INSERT_BATCH_ROWS = 1_000;
const COPY_PROBE_TIMEOUT_MS = 10_000;
const CHUNK_COLUMNS = ['document_id', 'case_id', 'ordinal', 'text', 'token_count', 'embedding'] as const;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** The batched INSERT's target, declared as drizzle sees `chunks` (the pipeline's serialisation of real[]). */
const insertTwin = pgTable('bench_insert_chunks', {
  id: uuid('id').primaryKey().defaultRandom(),
  documentId: uuid('document_id').notNull(),
  caseId: uuid('case_id').notNull(),
  ordinal: integer('ordinal').notNull(),
  text: text('text').notNull(),
  tokenCount: integer('token_count').notNull(),
  embedding: real('embedding').array().notNull(),
});

interface ChunkRowData {
  documentId: string;
  caseId: string;
  ordinal: number;
  text: string;
  tokenCount: number;
  embedding: number[];
}

interface IngestStack {
  db: Db;
  url: string;
  client: Client;
  queues: QueueNames;
  stop(): Promise<void>;
}

async function startIngestStack(ctx: ScenarioContext, database: BenchDatabase): Promise<IngestStack> {
  const handle = createDb(database.url, { poolMax: 10 });
  const queues = queueNames(`bench-ingest-${database.label}-`);
  const nativeConnection = await NativeConnection.connect({ address: ctx.harness.address });
  const client = new Client({ connection: await Connection.connect({ address: ctx.harness.address }) });
  const activities = createActivities({
    db: handle.db, llm: createLocalLlm(), embedder: createLocalEmbedder(EMBEDDING_DIMENSIONS), temporal: client,
    config: { queues, chat: { redeliveryAfterMs: 30_000 } }, clock: () => new Date(),
  });
  // processDocument runs its activities on its own queue: the ingest worker is the whole pipeline.
  const workers = await createWorkers({
    connection: nativeConnection, namespace: 'default', queues, kinds: ['ingest'],
    activities, workflowBundle: ctx.harness.bundle, shutdownGraceMs: 1000,
  });
  const running = workers.map((w) => w.run());
  return {
    db: handle.db, url: database.url, client, queues,
    async stop() {
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await handle.close();
      await nativeConnection.close();
      await client.connection.close();
    },
  };
}

async function seedCase(db: Db, title: string): Promise<{ userId: string; caseId: string }> {
  const [user] = await db.insert(users).values({ name: `bench-ingest-${randomUUID().slice(0, 8)}` }).returning({ id: users.id });
  const [row] = await db.insert(cases).values({ userId: user!.id, title }).returning({ id: cases.id });
  return { userId: user!.id, caseId: row!.id };
}

interface PipelineRun {
  seconds: number;
  /** Per document, from its store to its run's completion. */
  latencies: number[];
  failures: string[];
}

/** The gateway's hand-off (store, then start) for each document, `inFlight` at a time, each awaited to its run's end. */
async function ingestCorpus(stack: IngestStack, owner: { userId: string; caseId: string }, corpus: CorpusDocument[], inFlight: number): Promise<PipelineRun> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, corpus.length) }, async () => {
    while (next < corpus.length) {
      const doc = corpus[next++]!;
      const t0 = performance.now();
      try {
        const { document } = await storeDocument(stack.db, { ...owner, source: 'upload', ...doc });
        const workflowId = await startProcessDocument(
          stack.client,
          { documentId: document.id, caseId: owner.caseId, userId: owner.userId, correlationId: randomUUID(), queues: stack.queues },
          { deadline: Date.now() + 10_000 },
        );
        await stack.client.workflow.getHandle(workflowId).result() as ProcessDocumentResult;
        latencies.push(performance.now() - t0);
      } catch (err) {
        failures.push(`${doc.title}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }));
  return { seconds: (performance.now() - started) / 1000, latencies, failures };
}

/** One row of COPY's text format: tabs, newlines and backslashes escaped; the vector as an array literal. */
function copyLine(r: ChunkRowData): string {
  const escaped = r.text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `${r.documentId}\t${r.caseId}\t${r.ordinal}\t${escaped}\t${r.tokenCount}\t{${r.embedding.join(',')}}\n`;
}

function* copyText(rows: ChunkRowData[]): Generator<string> {
  for (let i = 0; i < rows.length; i += 200) yield rows.slice(i, i + 200).map(copyLine).join('');
}

/** A twin of `chunks`: its columns, defaults, generated tsvector and indexes, and the same foreign keys. */
async function createTwin(sql: postgres.Sql, table: string): Promise<void> {
  await sql.unsafe(`drop table if exists ${table}`);
  await sql.unsafe(`create table ${table} (like chunks including all)`);
  await sql.unsafe(`alter table ${table}
    add foreign key (document_id) references documents(id) on delete cascade,
    add foreign key (case_id) references cases(id) on delete cascade`);
}

async function countRows(sql: postgres.Sql, table: string): Promise<number> {
  const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`);
  return row!.n;
}

/** A raw COPY of the rows on one connection of its own (connected before the clock starts); seconds. */
async function copyRows(url: string, rows: ChunkRowData[]): Promise<{ seconds: number; bytes: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await createTwin(sql, 'bench_copy_chunks');
    const bytes = rows.reduce((sum, r) => sum + Buffer.byteLength(copyLine(r)), 0);
    const started = performance.now();
    const writable = await sql.unsafe(`copy bench_copy_chunks (${CHUNK_COLUMNS.join(', ')}) from stdin`).writable();
    await pipeline(Readable.from(copyText(rows)), writable);
    // The next statement on the one connection runs after the COPY's CommandComplete.
    const copied = await countRows(sql, 'bench_copy_chunks');
    const seconds = (performance.now() - started) / 1000;
    if (copied !== rows.length) throw new Error(`COPY stored ${copied} of ${rows.length} rows`);
    return { seconds, bytes };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The same rows as multi-row INSERTs of INSERT_BATCH_ROWS through drizzle, on one connection; seconds. */
async function insertRows(url: string, rows: ChunkRowData[]): Promise<number> {
  const handle = createDb(url, { poolMax: 1 });
  try {
    await createTwin(handle.sql, 'bench_insert_chunks');
    const started = performance.now();
    for (let i = 0; i < rows.length; i += INSERT_BATCH_ROWS) await handle.db.insert(insertTwin).values(rows.slice(i, i + INSERT_BATCH_ROWS));
    const seconds = (performance.now() - started) / 1000;
    const inserted = await countRows(handle.sql, 'bench_insert_chunks');
    if (inserted !== rows.length) throw new Error(`INSERT stored ${inserted} of ${rows.length} rows`);
    return seconds;
  } finally {
    await handle.close();
  }
}

/**
 * Whether `COPY … FROM STDIN` works on the embedded server, tried on one of its own in a
 * child process (workers/embedded-db.ts, the same server code) so that a hang costs only
 * the child. Observed: PGlite answers the COPY's CopyInResponse and then spins at 100 % CPU
 * inside its backend, waiting for CopyData that the wire server can only hand it after
 * the call returns; the server's event loop is blocked, so no connection gets an answer.
 */
async function probeEmbeddedCopy(): Promise<{ works: boolean; detail: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'casework-bench-copy-probe-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, CASEWORK_EMBEDDED_PG_PORT: String(port) };
  delete env.DATABASE_URL;
  const child = startNode('embedded-db (COPY probe)', 'workers/embedded-db.ts', ['--data-dir', dataDir], env);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  const timeout = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms).unref());
  try {
    await waitFor('the probe database', async () => (child.output().includes('ready') ? true : undefined), 60_000, child);
    await sql`create table copy_probe (a int, b text, v real[])`;
    const attempt = (async () => {
      const writable = await sql`copy copy_probe (a, b, v) from stdin`.writable();
      await pipeline(Readable.from(['1\tone\t{0.5,0.25}\n', '2\ttwo\t{1,2}\n']), writable);
      return countRows(sql, 'copy_probe');
    })();
    attempt.catch(() => {});
    const started = performance.now();
    const outcome = await Promise.race([attempt.then((n) => ({ n }), (err: unknown) => ({ err })), timeout(COPY_PROBE_TIMEOUT_MS, 'timeout' as const)]);
    if (outcome === 'timeout') {
      const other = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
      const answered = await Promise.race([other`select 1`.then(() => true, () => false), timeout(5_000, false)]);
      void other.end({ timeout: 0 }).catch(() => {});
      return {
        works: false,
        detail: `COPY FROM STDIN did not finish within ${COPY_PROBE_TIMEOUT_MS / 1000} s on PGlite's wire server (workers/embedded-db.ts); ` +
          `meanwhile a second connection's SELECT 1 ${answered ? 'was answered' : 'got no answer either: the server was stuck'}`,
      };
    }
    if ('err' in outcome) return { works: false, detail: `COPY FROM STDIN failed: ${String(outcome.err)}` };
    return outcome.n === 2
      ? { works: true, detail: `COPY FROM STDIN works (2 rows in ${(performance.now() - started).toFixed(0)} ms)` }
      : { works: false, detail: `COPY FROM STDIN finished but stored ${outcome.n} of 2 rows` };
  } finally {
    void sql.end({ timeout: 0 }).catch(() => {});
    // A backend spinning in WebAssembly cannot run its SIGTERM handler: SIGKILL after 1 s.
    await stopChild(child, 1_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Chunking and local embedding of the corpus alone, in this process: the CPU floor under the pipeline. */
function chunkAndEmbedRate(corpus: CorpusDocument[]): { docsPerSecond: number; chunks: number } {
  const sizes = { chunkTokens: DOCUMENT_DEFAULTS.chunkTokens, overlapTokens: DOCUMENT_DEFAULTS.chunkOverlapTokens };
  const started = performance.now();
  let count = 0;
  for (const doc of corpus) {
    for (const c of chunkText(doc.content, sizes)) {
      hashEmbedding(c.text, EMBEDDING_DIMENSIONS);
      count++;
    }
  }
  return { docsPerSecond: corpus.length / ((performance.now() - started) / 1000), chunks: count };
}

const rate = (concurrency: number, seconds: number, completed: number, latencies: number[]): RateResult => ({
  concurrency, seconds: Math.round(seconds * 10) / 10, completed, perSecond: completed / seconds, latency: summarize(latencies),
});

async function measureOn(ctx: ScenarioContext, database: BenchDatabase, corpus: CorpusDocument[], copyWorks: boolean, result: ScenarioResult): Promise<void> {
  const on = DATABASE_WORDS[database.label];
  const stack = await startIngestStack(ctx, database);
  let rows: ChunkRowData[];
  let pipelineRowsPerSecond: number;
  try {
    await ingestCorpus(stack, await seedCase(stack.db, 'bench ingest warm-up'), generateCorpus(WARMUP_DOCUMENTS, SEED + 1, DOCUMENT_BYTES), WARMUP_DOCUMENTS);
    const owner = await seedCase(stack.db, 'bench ingest corpus');
    const docLabel = `ingest: documents, processDocument (store + start as the gateway does, ${IN_FLIGHT} in flight, first start to last completed), ${on}`;
    const watched = await watchWorkflowTasks(ctx.harness, docLabel, [stack.queues.ingest], () => ingestCorpus(stack, owner, corpus, IN_FLIGHT));
    const run = watched.result;
    result.workflowTasks.push(watched.workflowTasks);

    const statuses = await stack.db
      .select({ status: documents.processingStatus, n: dsql<number>`count(*)::int` })
      .from(documents).where(eq(documents.caseId, owner.caseId)).groupBy(documents.processingStatus);
    rows = await stack.db
      .select({ documentId: chunks.documentId, caseId: chunks.caseId, ordinal: chunks.ordinal, text: chunks.text, tokenCount: chunks.tokenCount, embedding: chunks.embedding })
      .from(chunks).where(eq(chunks.caseId, owner.caseId));
    const completed = statuses.find((s) => s.status === 'completed')?.n ?? 0;
    result.rates.push({ label: docLabel, rate: rate(IN_FLIGHT, run.seconds, completed, run.latencies) });
    pipelineRowsPerSecond = rows.length / run.seconds;
    result.rates.push({ label: `ingest: chunk rows, processDocument, ${on}`, rate: rate(IN_FLIGHT, run.seconds, rows.length, run.latencies) });
    result.notes.push({
      label: `ingest documents, ${on}`,
      value: `${completed} of ${corpus.length} completed${completed < corpus.length ? ` (${statuses.map((s) => `${s.status} ${s.n}`).join(', ')})` : ''}; ${rows.length} chunk rows ` +
        `(${(rows.length / Math.max(1, completed)).toFixed(1)} per document); the pipeline writes each row twice (chunk_drafts per batch, then chunks)` +
        (run.failures.length > 0 ? `; failures: ${run.failures.slice(0, 3).join(' | ')}` : ''),
    });
  } finally {
    await stack.stop();
  }

  const inserted = await insertRows(database.url, rows);
  const insertRate = rows.length / inserted;
  result.rates.push({ label: `ingest: chunk rows, raw batched INSERT (${INSERT_BATCH_ROWS} rows a statement, one connection), ${on}`, rate: rate(1, inserted, rows.length, [inserted * 1000]) });
  if (copyWorks || database.label === 'postgres') {
    const copied = await copyRows(database.url, rows);
    const copyRate = rows.length / copied.seconds;
    result.rates.push({ label: `ingest: chunk rows, raw COPY (one connection), ${on}`, rate: rate(1, copied.seconds, rows.length, [copied.seconds * 1000]) });
    result.ratios.push(ratio(`chunk rows/s: processDocument / raw COPY of the same rows, ${on}`, pipelineRowsPerSecond / copyRate, { atLeast: 0.5 }));
    result.notes.push({
      label: `raw loads, ${on}`,
      value: `COPY ${copyRate.toFixed(0)} rows/s (${(copied.bytes / 2 ** 20).toFixed(1)} MiB of COPY text), batched INSERT ${insertRate.toFixed(0)} rows/s; ` +
        `processDocument / INSERT ${(pipelineRowsPerSecond / insertRate).toFixed(2)}×; both into a twin of chunks (LIKE chunks INCLUDING ALL, plus its foreign keys)`,
    });
  } else {
    result.ratios.push(ratio(`chunk rows/s: processDocument / raw batched INSERT of the same rows, ${on} (COPY does not work there)`, pipelineRowsPerSecond / insertRate, { atLeast: 0.5 }));
    result.notes.push({
      label: `raw loads, ${on}`,
      value: `no COPY (see the probe note); batched INSERT ${insertRate.toFixed(0)} rows/s into a twin of chunks (LIKE chunks INCLUDING ALL, plus its foreign keys)`,
    });
  }
}

export const ingest: Scenario = {
  name: 'ingest',
  description: 'document ingestion: a generated corpus through processDocument (local embedder) vs a raw COPY of the same chunk rows, PostgreSQL server and embedded',
  async run(ctx) {
    const result = emptyResult();
    const count = envInt('BENCH_INGEST_DOCUMENTS', ctx.options.quick ? DOCUMENTS.quick : DOCUMENTS.full);
    const corpus = generateCorpus(count, SEED, DOCUMENT_BYTES);
    const bytes = corpus.reduce((sum, d) => sum + Buffer.byteLength(d.content), 0);
    const cpu = chunkAndEmbedRate(corpus);
    result.notes.push({
      label: 'ingest corpus',
      value: `${count} documents (seed ${SEED}, half markdown, half plain), ${(bytes / 2 ** 20).toFixed(1)} MiB, ${(bytes / count / 1000).toFixed(1)} KB each on average; ` +
        `chunks of ${DOCUMENT_DEFAULTS.chunkTokens}/${DOCUMENT_DEFAULTS.chunkOverlapTokens} tokens, ${DOCUMENT_DEFAULTS.embedBatchSize} per embedding batch, ${EMBEDDING_DIMENSIONS}-dimension local vectors; ` +
        `load average at the start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    });
    result.notes.push({ label: 'ingest CPU floor', value: `chunking + local embedding alone, in process on one core, no database: ${cpu.docsPerSecond.toFixed(1)} documents/s (${cpu.chunks} chunks)` });
    const probe = await probeEmbeddedCopy();
    result.notes.push({ label: 'COPY on the embedded database', value: probe.detail });
    for (const database of await ctx.harness.databases()) await measureOn(ctx, database, corpus, probe.works, result);
    return result;
  },
};
