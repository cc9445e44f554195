/**
 * Migrations (issue 12, "Policies, CI, bench"; reliability plan D1; DESIGN.md Decision 7).
 *
 * - A database at the previous schema version (the journal's migrations but the last,
 *   applied with drizzle's `migrate` from a truncated copy of the folder, as
 *   `activities/db/migrate.ts` applies the real one) holding rows in every table is brought
 *   to the current version by `runMigrations`, and every row survives, value for value;
 *   the same from every older version, so each migration's data step meets rows.
 * - Migrating a current database again changes nothing.
 * - Migrators exclude each other on a server (the advisory lock); on the embedded database
 *   the lock excludes nobody, as README says, and that is what is asserted there.
 * - `drizzle-kit generate` against the current schema writes no new migration.
 *
 * Runs on both databases: with DATABASE_URL each test gets a fresh database on that server
 * (dropped after), without it a fresh embedded PostgreSQL. The per-file helper
 * (test/helpers/database.ts) migrates to the current version on creation, so this file
 * makes its own unmigrated databases the same way.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { and, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../../activities/db/client.js';
import { startEmbeddedPostgres } from '../../activities/db/embedded.js';
import {
  appliedSchemaVersion,
  assertSchemaCurrent,
  expectedSchemaVersion,
  migrationsFolder,
  runMigrations,
  SchemaBehindError,
} from '../../activities/db/migrate.js';
import { runProgress, signals, threads } from '../../activities/db/schema/index.js';
import { withDatabase } from '../helpers/database.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DRIZZLE_KIT = join(ROOT, 'node_modules/drizzle-kit/bin.cjs');
const SCHEMA = join(ROOT, 'activities/db/schema/index.ts');

/** activities/db/migrate.ts's advisory lock key (not exported there). */
const MIGRATION_LOCK_KEY = 4_242_001;

const serverUrl = process.env.DATABASE_URL;
const kind: 'server' | 'embedded' = serverUrl ? 'server' : 'embedded';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- fresh, unmigrated databases and truncated migration folders ------------------------

interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function freshDatabase(): Promise<FreshDatabase> {
  if (!serverUrl) {
    const embedded = await startEmbeddedPostgres({ port: 0 });
    const db = { url: embedded.url, drop: () => embedded.stop() };
    cleanups.push(db.drop);
    return db;
  }
  const name = `casework_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const db = {
    url: withDatabase(serverUrl, name),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
  cleanups.push(db.drop);
  return db;
}

interface JournalEntry {
  idx: number;
  tag: string;
  when: number;
}
interface Journal {
  entries: JournalEntry[];
}

async function readJournal(folder = migrationsFolder): Promise<Journal> {
  return JSON.parse(await readFile(join(folder, 'meta/_journal.json'), 'utf8')) as Journal;
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of the migrations folder whose journal stops after its first `count` entries. */
async function migrationsUpTo(count: number): Promise<string> {
  const folder = join(await tempDir('casework-migrations-'), 'migrations');
  await cp(migrationsFolder, folder, { recursive: true });
  const journal = await readJournal(folder);
  // The later migrations go altogether: their SQL and their snapshots (drizzle-kit diffs
  // the schema against the newest snapshot it finds).
  for (const entry of journal.entries.slice(count)) {
    await rm(join(folder, `${entry.tag}.sql`));
    await rm(join(folder, `meta/${String(entry.idx).padStart(4, '0')}_snapshot.json`));
  }
  journal.entries = journal.entries.slice(0, count);
  await writeFile(join(folder, 'meta/_journal.json'), JSON.stringify(journal, null, 2));
  return folder;
}

/** What `runMigrations` does, minus the lock, from another folder. */
async function migrateFrom(url: string, folder: string): Promise<number> {
  const sql = client(url);
  try {
    await migrate(drizzle(sql), { migrationsFolder: folder });
    return await appliedSchemaVersion(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function client(url: string): postgres.Sql {
  return postgres(url, { max: 1, onnotice: () => {} });
}

// --- what the database holds -------------------------------------------------------------

async function publicTables(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ table_name: string }[]>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`;
  return rows.map((r) => r.table_name);
}

async function columnsOf(sql: postgres.Sql, table: string): Promise<string[]> {
  const rows = await sql<{ column_name: string }[]>`
    select column_name from information_schema.columns
    where table_schema = 'public' and table_name = ${table} order by ordinal_position`;
  return rows.map((r) => r.column_name);
}

/** Every row of a table projected on `columns`, as sorted JSON lines: a multiset to compare. */
async function rowsOn(sql: postgres.Sql, table: string, columns: string[]): Promise<string[]> {
  const rows = await sql.unsafe(`select ${columns.map((c) => `"${c}"`).join(', ')} from "${table}"`);
  return rows.map((row) => JSON.stringify(columns.map((c) => (row as Record<string, unknown>)[c]))).sort();
}

interface Snapshot {
  tables: Map<string, { columns: string[]; rows: string[] }>;
}

async function snapshot(sql: postgres.Sql): Promise<Snapshot> {
  const tables = new Map<string, { columns: string[]; rows: string[] }>();
  for (const table of await publicTables(sql)) {
    const columns = await columnsOf(sql, table);
    tables.set(table, { columns, rows: await rowsOn(sql, table, columns) });
  }
  return { tables };
}

/** Columns, constraints and indexes of the public schema, and the migrations journal. */
async function schemaFingerprint(sql: postgres.Sql): Promise<unknown> {
  const columns = await sql`
    select table_name, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = 'public'
    order by table_name, column_name`;
  const constraints = await sql`
    select conrelid::regclass::text as rel, conname, pg_get_constraintdef(oid) as def
    from pg_constraint where connamespace = 'public'::regnamespace order by rel, conname`;
  const indexes = await sql`
    select tablename, indexname, indexdef from pg_indexes where schemaname = 'public'
    order by tablename, indexname`;
  const journal = await sql`select id, hash, created_at from drizzle.__drizzle_migrations order by id`;
  return { columns: [...columns], constraints: [...constraints], indexes: [...indexes], journal: [...journal] };
}

// --- data in every table of the previous version ------------------------------------------

const ids = {
  alice: randomUUID(),
  bob: randomUUID(),
  key: randomUUID(),
  case: randomUUID(),
  chatThread: randomUUID(),
  caseThread: randomUUID(),
  answered: randomUUID(),
  reply: randomUUID(),
  pending: randomUUID(),
  intervention: randomUUID(),
  signal: randomUUID(),
  caseSignal: randomUUID(),
  merged: randomUUID(),
  suggestion: randomUUID(),
  document: randomUUID(),
  evidence: randomUUID(),
  otherEvidence: randomUUID(),
  activityThread: randomUUID(),
  placeholder: randomUUID(),
  agentRun: randomUUID(),
  draftRun: randomUUID(),
};
const chatWorkflow = `chat-${ids.chatThread}`;
const researchWorkflow = `research-${ids.case}-corr-1`;
/** Issue 19's rows: a research run's source, finding, artifact and version, a skill and a trajectory step. */
const researchIds = { source: randomUUID(), finding: randomUUID(), artifact: randomUUID() };
const inquiryId = randomUUID();

/**
 * Rows for every table, written with the columns the database has. A table added by a later
 * migration gets rows here too (the test fails on a table with none, so whoever adds one
 * adds its rows). Values are the application's shapes: jsonb objects, real[] vectors.
 */
function seedRows(sql: postgres.Sql): Record<string, Record<string, unknown>[]> {
  const json = (v: unknown) => sql.json(v as postgres.JSONValue);
  return {
    users: [
      { id: ids.alice, name: `alice-${ids.alice.slice(0, 8)}`, is_admin: false },
      { id: ids.bob, name: `bob-${ids.bob.slice(0, 8)}`, is_admin: true },
    ],
    api_keys: [{ id: ids.key, user_id: ids.alice, key_hash: 'a'.repeat(64), prefix: 'cw_aaaa' }],
    cases: [
      {
        id: ids.case,
        user_id: ids.alice,
        title: 'Move the plant to Lyon?',
        description: 'whether and when',
        domain: 'operations',
        structure: json({ sections: ['goals', 'risks'] }),
      },
    ],
    threads: [
      { id: ids.chatThread, user_id: ids.alice, title: 'Plant move', user_turns: 2, extraction_cursor: 0, last_inflection_turn: 0 },
      { id: ids.caseThread, user_id: ids.alice, case_id: ids.case, title: null, user_turns: 1 },
      // Written with its kind only where the column exists (it came with issue 12).
      { id: ids.activityThread, user_id: ids.alice, case_id: ids.case, kind: 'case-activity', title: 'Case activity' },
    ],
    messages: [
      { id: ids.answered, thread_id: ids.chatThread, role: 'user', content: 'Should we move?', status: 'complete', reply_id: ids.reply },
      {
        id: ids.reply,
        thread_id: ids.chatThread,
        role: 'assistant',
        content: 'It depends on the lease.',
        status: 'complete',
        metadata: json({ degradations: ['signal-extraction'], correlationId: 'corr-1' }),
      },
      { id: ids.pending, thread_id: ids.chatThread, role: 'user', content: 'And the cost?', status: 'pending' },
      {
        id: ids.intervention,
        thread_id: ids.caseThread,
        role: 'system',
        content: 'A risk with no mitigation: name one.',
        status: 'complete',
        dedup_key: `intervention:risk-unmitigated:${ids.signal}`,
      },
      {
        id: ids.placeholder,
        thread_id: ids.activityThread,
        role: 'assistant',
        content: 'The research agent is starting…',
        status: 'pending',
        metadata: json({ kind: 'agent-progress', workflowId: researchWorkflow, agentType: 'research' }),
        dedup_key: `agent-progress:${researchWorkflow}`,
      },
    ],
    signals: [
      {
        id: ids.signal,
        thread_id: ids.chatThread,
        type: 'risk',
        text: 'the lease may not transfer',
        text_hash: 'b'.repeat(64),
        confidence: 0.75,
        temperature: 'hot',
        embedding: [0.25, -0.5, 1],
        source_message_id: ids.answered,
        reference_count: 3,
      },
      {
        id: ids.caseSignal,
        thread_id: ids.caseThread,
        case_id: ids.case,
        type: 'goal',
        text: 'move by spring',
        text_hash: 'c'.repeat(64),
        confidence: 0.5,
      },
      {
        id: ids.merged,
        thread_id: ids.chatThread,
        type: 'risk',
        text: 'lease might not be transferable',
        text_hash: 'd'.repeat(64),
        confidence: 0.6,
        status: 'merged',
        merged_into: ids.signal,
      },
    ],
    agent_suggestions: [
      {
        id: ids.suggestion,
        thread_id: ids.chatThread,
        kind: 'agent',
        agent_type: 'research',
        confidence: 0.8,
        reason: 'a factual question',
        turn: 2,
        status: 'accepted',
        workflow_id: `draft-case-${ids.chatThread}`,
        agent_workflow_id: researchWorkflow,
        topic: 'whether the lease transfers',
      },
    ],
    events: [
      {
        type: 'SIGNALS_EXTRACTED',
        user_id: ids.alice,
        thread_id: ids.chatThread,
        correlation_id: 'corr-1',
        workflow_id: chatWorkflow,
        payload: json({ count: 2 }),
        idempotency_key: `signals-extracted:${ids.chatThread}:2`,
      },
      { type: 'CLEANUP_COMPLETED', payload: json({ deleted: 0 }), idempotency_key: `cleanup:${ids.case}` },
    ],
    run_progress: [
      { workflow_id: chatWorkflow, seq: 1, payload: json({ step: 'reply', turn: 1 }) },
      { workflow_id: chatWorkflow, seq: 2, payload: json({ step: 'reply', turn: 2 }) },
      { workflow_id: researchWorkflow, seq: 1, payload: json({ phase: 'plan' }) },
    ],
    idempotency_keys: [
      { user_id: ids.alice, route: 'POST /v1/threads', key: 'k-1', request_hash: 'e'.repeat(64), response_status: 201, response_body: json({ id: ids.chatThread }) },
      { user_id: ids.alice, route: 'POST /v1/threads/:threadId/messages', key: 'k-2', request_hash: 'f'.repeat(64) },
    ],
    // Tables of later versions: written only when the database has them.
    documents: [
      {
        id: ids.document,
        case_id: ids.case,
        user_id: ids.alice,
        source: 'upload',
        title: 'lease.txt',
        content_type: 'text/plain',
        content_hash: 'h'.repeat(64),
        content: 'The lease may be assigned with consent.',
        extracted_text: 'The lease may be assigned with consent.',
        processing_status: 'complete',
        chunk_count: 1,
        char_count: 39,
      },
    ],
    chunks: [
      { document_id: ids.document, case_id: ids.case, ordinal: 0, text: 'The lease may be assigned with consent.', token_count: 9, embedding: [0.5, 0.5, -0.25] },
    ],
    chunk_drafts: [
      { document_id: ids.document, run_id: 'run-1', ordinal: 0, text: 'The lease may be assigned with consent.', token_count: 9, embedding: [0.5, 0.5, -0.25] },
    ],
    token_ledger: [
      {
        workflow_id: chatWorkflow,
        run_id: 'run-1',
        activity_id: '1',
        attempt: 1,
        user_id: ids.alice,
        purpose: 'chat-reply',
        provider: 'local',
        model: 'local',
        prompt_tokens: 12,
        completion_tokens: 7,
        latency_ms: 3,
      },
    ],
    evidence: [
      {
        id: ids.evidence,
        case_id: ids.case,
        user_id: ids.alice,
        text: 'The landlord confirmed in writing that the lease can be assigned.',
        content_hash: 'i'.repeat(64),
        source: 'document',
        source_title: 'lease.txt',
        document_id: ids.document,
        relevance: 0.8,
        credibility: 0.7,
        status: 'completed',
        embedding: [0.5, 0.25, 0],
      },
      { id: ids.otherEvidence, case_id: ids.case, user_id: ids.alice, text: 'The lease cannot be assigned.', content_hash: 'j'.repeat(64), status: 'failed', error: 'scoring failed' },
    ],
    evidence_signal_links: [
      { evidence_id: ids.evidence, signal_id: ids.signal, case_id: ids.case, relation: 'contradicts', reasoning: 'the landlord agreed', score: 0.7 },
    ],
    contradictions: [
      {
        case_id: ids.case,
        left_kind: 'evidence',
        left_id: ids.evidence,
        right_kind: 'evidence',
        right_id: ids.otherEvidence,
        reason: 'one says it can be assigned, the other that it cannot',
        score: 0.9,
      },
    ],
    briefs: [
      {
        case_id: ids.case,
        version: 1,
        sections: json([{ key: 'summary', title: 'Summary', text: 'One item.', items: [], grounding: 0 }]),
        grounding: 0.5,
        evolution_key: `evolve-brief-${ids.case}:run-1:1`,
        changes: json({ 'evidence-added': 1 }),
      },
    ],
    agent_runs: [
      {
        id: ids.agentRun,
        workflow_id: researchWorkflow,
        type: 'research',
        workflow_type: 'researchAgent',
        queue: 'research',
        user_id: ids.alice,
        case_id: ids.case,
        thread_id: ids.activityThread,
        suggestion_id: ids.suggestion,
        correlation_id: 'corr-1',
        input: json({ caseId: ids.case, topic: 'whether the lease transfers', threadId: ids.activityThread, userId: ids.alice, correlationId: 'corr-1', placeholderMessageId: ids.placeholder }),
        placeholder_message_id: ids.placeholder,
        status: 'running',
      },
      {
        id: ids.draftRun,
        workflow_id: `draft-case-${ids.chatThread}`,
        type: 'structure',
        workflow_type: 'draftCaseWorkflow',
        queue: 'chat',
        user_id: ids.alice,
        thread_id: ids.chatThread,
        correlation_id: ids.suggestion,
        input: json({ threadId: ids.chatThread, userId: ids.alice, correlationId: ids.suggestion }),
        status: 'failed',
        error: 'drafting failed: the model was unreachable',
      },
    ],
    research_sources: [
      {
        id: researchIds.source, workflow_id: researchWorkflow, case_id: ids.case, kind: 'page', ref: 'https://example.org/lease', title: 'Lease law',
        url: 'https://example.org/lease', query: 'lease transfer', text: 'A lease may be assigned with the landlord\'s consent.', iteration: 1,
      },
    ],
    research_findings: [
      {
        id: researchIds.finding, workflow_id: researchWorkflow, source_id: researchIds.source, claim: 'Assignment needs consent.',
        quote: 'assigned with the landlord\'s consent', quote_hash: 'c'.repeat(64), span_start: 13, span_end: 49, relevance: 0.8, iteration: 1,
      },
    ],
    artifacts: [{ id: researchIds.artifact, case_id: ids.case, user_id: ids.alice, kind: 'research', workflow_id: researchWorkflow, title: 'Research: the lease' }],
    artifact_versions: [
      {
        artifact_id: researchIds.artifact, version: 1, markdown: '# Research\n- Assignment needs consent. [1]',
        citations: json([{ n: 1, findingId: researchIds.finding, sourceId: researchIds.source, quote: 'assigned', spanStart: 13, spanEnd: 21 }]),
        metadata: json({ stopReason: 'answered' }),
      },
    ],
    // Phase 2B: an inquiry with one research version, linked to the seeded document.
    inquiries: [{ id: inquiryId, case_id: ids.case, user_id: ids.alice, question: 'Does the lease transfer?' }],
    inquiry_documents: [
      { inquiry_id: inquiryId, kind: 'research', version: 1, workflow_id: `inquiry-research-${inquiryId}`, run_id: 'run-1', document_id: ids.document, status: 'completed' },
    ],
    skills: [{ domain: 'operations', name: 'site-moves', instructions: 'Compare the sites on cost and time.', query_hints: json(['relocation cost']) }],
    research_steps: [
      { workflow_id: researchWorkflow, phase: 'plan', iteration: 0, input: json({ topic: 'the lease' }), output: json({ queries: ['lease'] }), tokens: 12, latency_ms: 3 },
    ],
    brief_annotations: [
      {
        case_id: ids.case,
        source: 'brief',
        kind: 'contradicted',
        cause_key: `contradicted:${ids.signal}:abc`,
        section_key: 'key-claims',
        subject_kind: 'signal',
        subject_id: ids.signal,
        message: 'contradicted by an evidence item',
        created_in_version: 1,
      },
    ],
    budget_reservations: [{ workflow_id: researchWorkflow, run_id: 'run-1', seq: 2, call: 0, tokens: 4000 }],
    // A case of its own: the triggers write the seeded case's rows as its chunks, items and signals go in.
    retrieval_versions: [{ case_id: '00000000-0000-4000-8000-0000000000f1', kind: 'evidence', version: 3, rewrites: 1 }],
  };
}

/** Inserts the seed, parents first, keeping only the columns the database has. */
async function seed(sql: postgres.Sql): Promise<{ runProgressHadRunId: boolean }> {
  const tables = new Set(await publicTables(sql));
  const rows = seedRows(sql);
  for (const [table, tableRows] of Object.entries(rows)) {
    if (!tables.has(table)) continue;
    const columns = new Set(await columnsOf(sql, table));
    for (const row of tableRows) {
      const values: Record<string, unknown> = Object.fromEntries(Object.entries(row).filter(([c]) => columns.has(c)));
      if (table === 'run_progress' && columns.has('run_id')) values.run_id = `run-of-${String(row.workflow_id)}`;
      await sql`insert into ${sql(table)} ${sql(values as Record<string, postgres.ParameterOrJSON<never>>)}`;
    }
  }
  return { runProgressHadRunId: (await columnsOf(sql, 'run_progress')).includes('run_id') };
}

/** From version `previous`, with rows in every table, to `current`: every row survives. */
async function upgradeKeepsEveryRow(previous: number, current: number): Promise<void> {
  const fresh = await freshDatabase();
  expect(await migrateFrom(fresh.url, await migrationsUpTo(previous))).toBe(previous);

  const sql = client(fresh.url);
  try {
    // The services refuse a schema that is behind (Decision 7).
    await expect(assertSchemaCurrent(sql)).rejects.toBeInstanceOf(SchemaBehindError);

    const { runProgressHadRunId } = await seed(sql);
    const before = await snapshot(sql);
    const empty = [...before.tables].filter(([, t]) => t.rows.length === 0).map(([name]) => name);
    expect(empty, 'seed rows for every table of the previous version (seedRows)').toEqual([]);

    expect(await runMigrations(fresh.url)).toBe(current);
    await expect(assertSchemaCurrent(sql)).resolves.toBeUndefined();

    // Every table of the previous version is still there, with the same rows on its old columns.
    const tablesAfter = new Set(await publicTables(sql));
    for (const [table, { columns, rows }] of before.tables) {
      expect(tablesAfter.has(table), `table ${table} survives`).toBe(true);
      const survivingColumns = new Set(await columnsOf(sql, table));
      expect(columns.filter((c) => !survivingColumns.has(c)), `columns of ${table} survive`).toEqual([]);
      expect(await rowsOn(sql, table, columns), `rows of ${table}`).toEqual(rows);
    }

    // The working views (0005, hand-written) over the migrated rows: one row per seeded case and thread.
    await sql`refresh materialized view case_overviews`;
    await sql`refresh materialized view thread_signal_summaries`;
    const [views] = await sql<{ cases: number; overviews: number; threads: number; summaries: number }[]>`
      select (select count(*)::int from cases) as cases, (select count(*)::int from case_overviews) as overviews,
             (select count(*)::int from threads) as threads, (select count(*)::int from thread_signal_summaries) as summaries`;
    expect(views!.cases).toBeGreaterThan(0);
    expect(views).toEqual({ cases: views!.cases, overviews: views!.cases, threads: views!.threads, summaries: views!.threads });

    // The values the migration itself writes, read through the application's schema.
    const app = createDb(fresh.url, { poolMax: 1 });
    try {
      const progress = await app.db.select().from(runProgress).orderBy(runProgress.workflowId, runProgress.seq);
      expect(progress).toHaveLength(3);
      for (const row of progress) {
        expect(row.runId).toBe(runProgressHadRunId ? `run-of-${row.workflowId}` : `before-run-ids:${row.workflowId}`);
      }
      // Keyed by (run id, seq) now: one workflow id's old log is one run.
      const chatLog = progress.filter((p) => p.workflowId === chatWorkflow);
      expect(chatLog.map((p) => [p.seq, p.payload])).toEqual([
        [1, { step: 'reply', turn: 1 }],
        [2, { step: 'reply', turn: 2 }],
      ]);
      expect(new Set(chatLog.map((p) => p.runId)).size).toBe(1);

      const threadRows = await app.db.select().from(threads).orderBy(threads.title);
      expect(threadRows.map((t) => [t.id, t.kind, t.caseId])).toEqual(
        expect.arrayContaining([
          [ids.chatThread, 'chat', null],
          [ids.caseThread, 'chat', ids.case],
        ]),
      );

      const signalRows = await app.db.select().from(signals);
      const byId = new Map(signalRows.map((s) => [s.id, s]));
      expect(byId.get(ids.signal)).toMatchObject({ threadId: ids.chatThread, caseId: null, temperature: 'hot', referenceCount: 3 });
      expect(byId.get(ids.signal)?.embedding).toEqual([0.25, -0.5, 1]);
      expect(byId.get(ids.caseSignal)).toMatchObject({ threadId: ids.caseThread, caseId: ids.case });
      expect(byId.get(ids.merged)).toMatchObject({ threadId: ids.chatThread, status: 'merged', mergedInto: ids.signal });
      // Decision 22: the stored base of decay is back-filled from the confidence the row had
      // (by 0006; a database already past it keeps what its rows hold).
      if (crosses(previous, '0006_signal_maintenance')) {
        expect(byId.get(ids.signal)).toMatchObject({ baseConfidence: 0.75, lastReferencedAt: null });
        expect(byId.get(ids.caseSignal)?.baseConfidence).toBe(0.5);
        expect(byId.get(ids.merged)?.baseConfidence).toBeCloseTo(0.6, 6);
      }

      const messageRows = await sql<{ id: string; status: string; reply_id: string | null; metadata: unknown }[]>`
        select id, status, reply_id, metadata from messages where thread_id = ${ids.chatThread} order by seq`;
      expect(messageRows.map((m) => [m.id, m.status, m.reply_id])).toEqual([
        [ids.answered, 'complete', ids.reply],
        [ids.reply, 'complete', null],
        [ids.pending, 'pending', null],
      ]);
      expect(messageRows[1]?.metadata).toEqual({ degradations: ['signal-extraction'], correlationId: 'corr-1' });

      const [inFlight] = await sql`select response_status, response_body from idempotency_keys where key = 'k-2'`;
      expect(inFlight).toEqual({ response_status: null, response_body: null });

      // The current schema takes new writes next to the old rows: the identity continues,
      // a case's own signal has no thread, and a new run of an old workflow id is its own log.
      const [maxSeq] = await sql<{ n: number }[]>`select max(seq)::int as n from messages`;
      const [added] = await sql<{ seq: number }[]>`
        insert into messages (thread_id, role, content, status) values (${ids.chatThread}, 'user', 'after', 'pending')
        returning seq::int as seq`;
      expect(added?.seq).toBeGreaterThan(maxSeq?.n ?? 0);
      await app.db.insert(signals).values({
        caseId: ids.case,
        threadId: null,
        type: 'evidence',
        text: 'the lease names a successor clause',
        textHash: 'g'.repeat(64),
        confidence: 0.9,
        baseConfidence: 0.95,
        lastReferencedAt: new Date('2026-12-01T00:00:00Z'),
      });
      const [maintained] = await sql`select base_confidence, last_referenced_at from signals where text_hash = ${'g'.repeat(64)}`;
      expect(maintained).toEqual({ base_confidence: 0.95, last_referenced_at: new Date('2026-12-01T00:00:00Z') });
      await app.db.insert(runProgress).values({ runId: 'a-new-run', seq: 1, workflowId: chatWorkflow, payload: { step: 'reply' } });
      const newRun = await app.db
        .select()
        .from(runProgress)
        .where(and(eq(runProgress.workflowId, chatWorkflow), eq(runProgress.runId, 'a-new-run')));
      expect(newRun).toHaveLength(1);
    } finally {
      await app.close();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// --- the tests ------------------------------------------------------------------------------

const CURRENT = expectedSchemaVersion();
const TAGS = (JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as Journal).entries.map((e) => e.tag);
/**
 * The previous version first (the upgrade a deployment makes), then every older one, so each
 * migration's data step is crossed with rows in place (0000 → current: the run_progress backfill).
 */
/** Whether an upgrade from version `previous` runs the migration `tag`. */
const crosses = (previous: number, tag: string) => previous <= TAGS.indexOf(tag);
const EARLIER = Array.from({ length: CURRENT - 1 }, (_, i) => CURRENT - 1 - i);

describe(`migrations (${kind} database)`, () => {
  it('the journal has a previous version to migrate from', () => {
    expect(CURRENT, 'the journal needs a previous version to migrate from').toBeGreaterThan(1);
    expect(TAGS).toHaveLength(CURRENT);
  });

  for (const previous of EARLIER) {
    const label = `${previous === CURRENT - 1 ? 'the previous version' : 'an older version'} (${previous}: ${TAGS[previous - 1]})`;
    it(`brings a database at ${label}, with rows in every table, to the current one (${CURRENT}): every row survives`, async () => {
      await upgradeKeepsEveryRow(previous, CURRENT);
    });
  }

  it('migrating a current database again is a no-op', async () => {
    const fresh = await freshDatabase();
    const current = expectedSchemaVersion();
    expect(await runMigrations(fresh.url)).toBe(current);
    const sql = client(fresh.url);
    try {
      // The seed covers the current schema too: whoever adds a table adds its rows, before
      // the next migration needs them.
      await seed(sql);
      const rowsBefore = await snapshot(sql);
      const empty = [...rowsBefore.tables].filter(([, t]) => t.rows.length === 0).map(([name]) => name);
      expect(empty, 'seed rows for every table of the current schema (seedRows)').toEqual([]);
      const schemaBefore = await schemaFingerprint(sql);

      expect(await runMigrations(fresh.url)).toBe(current);

      expect(await schemaFingerprint(sql)).toEqual(schemaBefore);
      expect(await snapshot(sql)).toEqual(rowsBefore);
      const [count] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(count?.n).toBe(current);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  if (kind === 'server') {
    it('two concurrent migrators on a server both succeed and apply each migration once (the advisory lock)', async () => {
      const fresh = await freshDatabase();
      const current = expectedSchemaVersion();
      expect(await Promise.all([runMigrations(fresh.url), runMigrations(fresh.url)])).toEqual([current, current]);

      const sql = client(fresh.url);
      try {
        const applied = await sql<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations`;
        expect(applied).toHaveLength(current);
        expect(new Set(applied.map((a) => a.hash)).size).toBe(current);
        await expect(assertSchemaCurrent(sql)).resolves.toBeUndefined();
      } finally {
        await sql.end({ timeout: 5 });
      }
    });

    it('on a server a migrator waits while another holds the migration lock', async () => {
      const fresh = await freshDatabase();
      const holder = client(fresh.url);
      try {
        await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        let settled = false;
        const migrating = runMigrations(fresh.url).finally(() => (settled = true));
        await sleep(1500);
        expect(settled, 'runMigrations must wait for the lock').toBe(false);
        const [journalTable] = await holder<{ exists: boolean }[]>`
          select to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
        expect(journalTable?.exists, 'nothing is migrated while the lock is held').toBe(false);

        await holder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
        expect(await migrating).toBe(expectedSchemaVersion());
      } finally {
        await holder.end({ timeout: 5 });
      }
    });
  } else {
    it('on the embedded database the migration lock excludes nobody (README): migrations run once, before the services', async () => {
      const fresh = await freshDatabase();
      const holder = client(fresh.url);
      const other = client(fresh.url);
      try {
        await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        // Every connection shares PGlite's one session, so another connection "gets" the lock too…
        const [tryLock] = await other<{ got: boolean }[]>`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as got`;
        expect(tryLock?.got).toBe(true);
        await other`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
        // …and a migrator runs to the end while the lock is held elsewhere: it cannot wait for it.
        const started = Date.now();
        expect(await runMigrations(fresh.url)).toBe(expectedSchemaVersion());
        expect(Date.now() - started).toBeLessThan(30_000);
        await holder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
        // Run once, before the services: a second run afterwards is still a no-op.
        expect(await runMigrations(fresh.url)).toBe(expectedSchemaVersion());
        const [count] = await other<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
        expect(count?.n).toBe(expectedSchemaVersion());
      } finally {
        await holder.end({ timeout: 5 });
        await other.end({ timeout: 5 });
      }
    });
  }

  /** `drizzle-kit generate` into a copy of `folder`; returns the files it added and its output. */
  async function generateInto(folder: string): Promise<{ added: string[]; output: string }> {
    const dir = await tempDir('casework-drizzle-kit-');
    await cp(folder, join(dir, 'migrations'), { recursive: true });
    // drizzle-kit resolves `out` against the working directory (an absolute path breaks it).
    await writeFile(
      join(dir, 'drizzle.config.ts'),
      `export default ${JSON.stringify({ dialect: 'postgresql', schema: SCHEMA, out: './migrations' })};\n`,
    );
    const list = async () => (await readdir(join(dir, 'migrations'), { recursive: true })).sort();
    const filesBefore = await list();
    const { stdout, stderr } = await run(
      process.execPath,
      [DRIZZLE_KIT, 'generate', '--config', 'drizzle.config.ts', '--name', 'should_be_empty'],
      { cwd: dir, timeout: 60_000, env: { ...process.env, CI: 'true' } },
    );
    const added = (await list()).filter((f) => !filesBefore.includes(f));
    return { added, output: `${stdout}\n${stderr}` };
  }

  it('drizzle-kit generate finds nothing to migrate: the committed migrations match the schema', async () => {
    const { added, output } = await generateInto(migrationsFolder);
    expect(output).toContain('No schema changes');
    expect(added, output).toEqual([]);
    // The control: the same command from the previous version writes a migration, so the
    // check above can fail (drizzle-kit exits 0 even when it errors).
    // A hand-written migration (0005_working_views: materialized views, declared `.existing()`)
    // changes no table drizzle-kit sees, so the control goes back to the last one that did.
    let control = { added: [] as string[], output: '' };
    for (let version = expectedSchemaVersion() - 1; version >= 1; version--) {
      control = await generateInto(await migrationsUpTo(version));
      if (control.added.length > 0) break;
    }
    expect(control.added.filter((f) => f.endsWith('_should_be_empty.sql')), control.output).toHaveLength(1);
  });
});
