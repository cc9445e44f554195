/**
 * One scope's consolidation (issue 18; Decisions 22, 34): dedup, then decay and archive, as
 * the pure maths (./signal-maths.ts) decide, applied in batches of transactions with a
 * heartbeat after each. Every write is computed from what the rows hold, so a retried
 * attempt (or a second run for the same date) re-reads, finds what is done, and changes nothing:
 * a merged signal is no longer active, and decay from the stored base to the same date gives
 * the same value.
 *
 * Cost (the bench's consolidation scenario): the scope is read once, then written by one
 * statement a batch (`write`: merges, links and decay together, guarded by what was read
 * instead of a transaction holding locks across round trips); only rows whose stored value
 * changes are written, so a scope with nothing due (a second run for the same date) is one read.
 */
import { and, eq, isNull, sql, type Placeholder } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { arrayParam } from '../db/array-param.js';
import type { PoolDb } from '../db/client.js';
import { runPrepared, statement } from '../db/prepared.js';
import { beat } from '../heartbeat.js';
import { signals } from '../db/schema/index.js';
import { decodeRealArray } from '../retrieval/real-array.js';
import { moveLinksCtes } from './links.js';
import { changesReal, combineSurvivor, decayedConfidence, dedupGroups, shouldArchive, type MathsPolicy, type MergeGroup } from './signal-maths.js';
import type { ScopeConsolidation, SignalScope } from '../../workflows/types.js';

/** Unembedded signals the workflow embeds (with `embedSignals`) per round before merging. */
export const EMBED_ROUND = 256;

export interface ConsolidateScopeRequest {
  scope: SignalScope;
  nominalMs: number;
  dryRun?: boolean;
  /** Go on without embedding what has no vector (a dry run; an embedder that embeds nothing). */
  skipEmbedding?: boolean;
}

export type ConsolidateScopeResult = ScopeConsolidation | { unembedded: string[] };

type Policy = MathsPolicy & { batchSize: number };

/** A scope whose id is a placeholder: the statements below are built once for every scope of a kind. */
interface ScopeOfStatement {
  kind: SignalScope['kind'];
  id: Placeholder;
}

const scopeFilter = (scope: ScopeOfStatement) =>
  scope.kind === 'thread' ? eq(signals.threadId, scope.id) : and(eq(signals.caseId, scope.id), isNull(signals.threadId));

const activeIn = (scope: ScopeOfStatement) => and(scopeFilter(scope), eq(signals.status, 'active'));

/** What decay and archiving decide for one signal on the run's date. */
interface Decay {
  confidence: number;
  archive: boolean;
  /** Its confidence changes (else it is written for its base or its archiving alone). */
  decays: boolean;
}

function decayOf(stored: number, base: number, lastSeenMs: number, nominalMs: number, policy: Policy): Decay {
  const confidence = decayedConfidence(base, lastSeenMs, nominalMs, policy.halfLifeDays);
  return { confidence, archive: shouldArchive(confidence, policy.archiveBelow), decays: changesReal(stored, confidence) };
}

/**
 * A scope's active signal as read once (times as epoch ms), with its row version (`xmin`, the
 * transaction that wrote it): the writes are guarded by it, so a signal changed in any way
 * since the read (re-mentioned, linked, embedded) is never written from stale values.
 */
interface ScopeRow {
  id: string;
  version: string;
  confidence: number;
  base: number | null;
  firstSeenAt: number;
  lastSeenAt: number;
  lastReferencedAt: number | null;
  referenceCount: number;
  embedding: number[] | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

const fields = (r: ScopeRow) => ({
  confidence: r.confidence,
  baseConfidence: r.base ?? r.confidence,
  firstSeenAt: r.firstSeenAt,
  lastSeenAt: r.lastSeenAt,
  lastReferencedAt: r.lastReferencedAt,
  referenceCount: r.referenceCount,
});

interface DecayRow extends Decay {
  id: string;
  version: string;
}

/** One write: a batch of merges (all or none) and a batch of decays, either possibly empty. */
interface WriteBatch {
  groups: readonly MergeGroup[];
  decays: readonly DecayRow[];
}

/**
 * One statement (so one transaction: a kill leaves all of it or none), the same text whatever
 * the sizes (arrays, `unnest`), applied only if every signal of its merges is, locked, still as
 * read (the same row version; `ok` false: nothing of it is written, and the caller reads
 * again and adds what its earlier batches wrote to the next read's report): the merges of a batch of
 * groups, the survivors decayed to the run's date on the way, the members merged, what was
 * merged into them re-pointed (one hop, always), their links moved (./links.ts); and the decay
 * of a batch of rows outside any group, each guarded by its row version as read (a signal
 * re-mentioned meanwhile is left to the next run, and not counted: the statement returns how
 * many of its decays it wrote). Never one row twice: survivors,
 * members and decayed rows are distinct active rows, re-pointed ones merged.
 */
const p = (name: string) => sql.placeholder(name);

/** The write's text for a thread's or a case's own signals, built once (its arrays are placeholders) and prepared on each connection. */
const writeIn = (kind: SignalScope['kind']) => statement(sql`
    with guard as (
      select * from unnest(${p('guardIds')}::uuid[], ${p('guardVersions')}::xid[]) as g(id, version)
    ), locked as (
      select s.id from signals s join guard g on s.id = g.id
      where s.status = 'active' and s.xmin = g.version
      order by s.id for update of s
    ), ok as (
      select count(*) = (select count(*) from guard) as ok from locked
    ), kept as (
      update signals set confidence = v.confidence, base_confidence = v.base, first_seen_at = v.first_seen,
        last_seen_at = v.last_seen, last_referenced_at = v.last_referenced, reference_count = v.refs,
        status = case when v.archive then 'archived' else signals.status end
      from ok, unnest(${p('keptIds')}::uuid[], ${p('keptConfidence')}::real[], ${p('keptBase')}::real[], ${p('keptFirstSeen')}::timestamptz[],
        ${p('keptLastSeen')}::timestamptz[], ${p('keptReferenced')}::timestamptz[], ${p('keptRefs')}::int[], ${p('keptArchive')}::boolean[])
        as v(id, confidence, base, first_seen, last_seen, last_referenced, refs, archive)
      where ok.ok and signals.id = v.id returning 1
    ), merged as (
      update signals set status = 'merged', merged_into = v.survivor
      from ok, unnest(${p('members')}::uuid[], ${p('survivors')}::uuid[]) as v(member, survivor)
      where ok.ok and signals.id = v.member returning 1
    ), repointed as (
      update signals set merged_into = v.survivor
      from ok, unnest(${p('members')}::uuid[], ${p('survivors')}::uuid[]) as v(member, survivor)
      where ok.ok and ${scopeFilter({ kind, id: p('scopeId') })} and signals.merged_into = v.member returning 1
    ), ${moveLinksCtes(p('members'), p('survivors'))}, decayed as (
      update signals set confidence = v.confidence, base_confidence = coalesce(signals.base_confidence, signals.confidence),
        status = case when v.archive then 'archived' else signals.status end
      from ok, unnest(${p('decayIds')}::uuid[], ${p('decayConfidence')}::real[], ${p('decayVersions')}::xid[], ${p('decayChanges')}::boolean[],
        ${p('decayArchive')}::boolean[]) as v(id, confidence, version, changes, archive)
      where ok.ok and signals.id = v.id and signals.status = 'active' and signals.xmin = v.version returning v.changes, v.archive
    )
    select ok.ok, (select count(*) filter (where changes) from decayed)::int as decayed,
      (select count(*) filter (where archive) from decayed)::int as archived
    from ok`);

const WRITE = { thread: writeIn('thread'), case: writeIn('case') };

/** What a write did: nothing unless `ok`; the survivors' decay, and how many of the batch's own decays it wrote (a row changed since it was read is skipped). */
interface Wrote {
  ok: boolean;
  kept: Decay[];
  decayed: number;
  archived: number;
}

async function write(db: PoolDb, scope: SignalScope, batch: WriteBatch, byId: ReadonlyMap<string, ScopeRow>, nominalMs: number, policy: Policy): Promise<Wrote> {
  const guarded = batch.groups.flatMap((g) => [g.survivorId, ...g.mergedIds]).sort().map((id) => byId.get(id)!);
  const kept = batch.groups.map((g) => {
    const f = combineSurvivor(fields(byId.get(g.survivorId)!), g.mergedIds.map((id) => fields(byId.get(id)!)));
    return { id: g.survivorId, f, decay: decayOf(f.confidence, f.baseConfidence, f.lastSeenAt, nominalMs, policy) };
  });
  const d = batch.decays;
  const [row] = await runPrepared<{ ok: boolean; decayed: number; archived: number }>(db, WRITE[scope.kind], {
    scopeId: scope.id,
    guardIds: arrayParam(guarded.map((r) => r.id)),
    guardVersions: arrayParam(guarded.map((r) => r.version)),
    keptIds: arrayParam(kept.map((k) => k.id)),
    keptConfidence: arrayParam(kept.map((k) => k.decay.confidence)),
    keptBase: arrayParam(kept.map((k) => k.f.baseConfidence)),
    keptFirstSeen: arrayParam(kept.map((k) => iso(k.f.firstSeenAt))),
    keptLastSeen: arrayParam(kept.map((k) => iso(k.f.lastSeenAt))),
    keptReferenced: arrayParam(kept.map((k) => iso(k.f.lastReferencedAt))),
    keptRefs: arrayParam(kept.map((k) => k.f.referenceCount)),
    keptArchive: arrayParam(kept.map((k) => k.decay.archive)),
    members: arrayParam(batch.groups.flatMap((g) => g.mergedIds)),
    survivors: arrayParam(batch.groups.flatMap((g) => g.mergedIds.map(() => g.survivorId))),
    decayIds: arrayParam(d.map((r) => r.id)),
    decayConfidence: arrayParam(d.map((r) => r.confidence)),
    decayVersions: arrayParam(d.map((r) => r.version)),
    decayChanges: arrayParam(d.map((r) => r.decays)),
    decayArchive: arrayParam(d.map((r) => r.archive)),
  });
  return { ok: row!.ok, kept: kept.map((k) => k.decay), decayed: row!.decayed, archived: row!.archived };
}

/** Cut into batches of about `size` merged signals (a group is never split). */
function batches(groups: readonly MergeGroup[], size: number): MergeGroup[][] {
  const out: MergeGroup[][] = [];
  let current: MergeGroup[] = [];
  let count = 0;
  for (const g of groups) {
    current.push(g);
    count += g.mergedIds.length;
    if (count >= size) {
      out.push(current);
      current = [];
      count = 0;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The scope's active signals, read once: what the dedup compares and what the decay starts from. */
async function readScope(db: PoolDb, scope: SignalScope): Promise<ScopeRow[]> {
  const rows = await runPrepared<{
    id: string; version: string; confidence: number; base: number | null; first_ms: number; seen_ms: number;
    referenced_ms: number | null; refs: number; embedding: Uint8Array | null;
  }>(db, READ[scope.kind], { scopeId: scope.id });
  return rows.map((r) => ({
    id: r.id, version: r.version, confidence: r.confidence, base: r.base, firstSeenAt: r.first_ms, lastSeenAt: r.seen_ms,
    lastReferencedAt: r.referenced_ms, referenceCount: r.refs,
    // A vector that is not a plain float4 array (NULLs in it) takes no part in the dedup.
    embedding: r.embedding === null ? null : (decodeRealArray(r.embedding) ?? []),
  }));
}

/**
 * A timestamp as epoch milliseconds, cut to the millisecond as a `Date` holds it (exact: the
 * `numeric` epoch, not `date_part`'s float), so what a merge writes back and what the next run
 * reads agree to the millisecond; a float8, which the driver parses as a number.
 */
const epochMs = (column: AnyPgColumn) => sql`floor(extract(epoch from ${column}) * 1000)::float8`;

const readIn = (kind: SignalScope['kind']) => statement(sql`
    select id, xmin::text as version, confidence, base_confidence as base, ${epochMs(signals.firstSeenAt)} as first_ms,
      ${epochMs(signals.lastSeenAt)} as seen_ms, ${epochMs(signals.lastReferencedAt)} as referenced_ms,
      reference_count as refs, array_send(embedding) as embedding
    from signals where ${activeIn({ kind, id: p('scopeId') })}`);

/** The read of a thread's and of a case's own signals, built once. */
const READ = { thread: readIn('thread'), case: readIn('case') };

/**
 * A merge that finds its rows changed since they were read (a re-mention, a new link, the
 * temperatures job re-tiering them) makes the scope be read again. Each read commits its
 * batches up to that point, so reading again goes on as long as reads get batches written;
 * this many reads in a row with none written fail the attempt (retried).
 */
const STALLED_READS = 3;

type Counts = Pick<ScopeConsolidation, 'merged' | 'decayed' | 'archived'>;

const added = (a: Counts, b: Counts): Counts => ({ merged: a.merged + b.merged, decayed: a.decayed + b.decayed, archived: a.archived + b.archived });

/** What a read's batches wrote before one found its rows changed: the next read no longer sees it as due, so it is added to that read's report. */
type Written = Counts & { batches: number };

export async function consolidateScope(db: PoolDb, policy: Policy, req: ConsolidateScopeRequest): Promise<ConsolidateScopeResult> {
  let before: Counts = { merged: 0, decayed: 0, archived: 0 };
  for (let stalled = 0; ; ) {
    const result = await consolidateOnce(db, policy, req);
    if ('unembedded' in result) return result;
    if (!('changed' in result)) {
      return { ...result, ...added(result, before) };
    }
    const { changed } = result;
    before = added(before, changed);
    stalled = changed.batches > 0 ? 0 : stalled + 1;
    if (stalled === STALLED_READS) throw new Error(`the signals of ${req.scope.kind} ${req.scope.id} kept changing while they were consolidated`);
  }
}

async function consolidateOnce(db: PoolDb, policy: Policy, req: ConsolidateScopeRequest): Promise<ConsolidateScopeResult | { changed: Written }> {
  const loaded = await readScope(db, req.scope);
  if (!req.skipEmbedding && !req.dryRun) {
    const missing = loaded.filter((r) => r.embedding === null).slice(0, EMBED_ROUND);
    if (missing.length > 0) return { unembedded: missing.map((m) => m.id) };
  }
  const groups = await dedupGroups(loaded, policy.mergeSimilarity);
  // Survivors are decayed in their merge, members not at all; a dry run merges nothing, so
  // its survivors decay as they are.
  const inMerge = new Set(groups.flatMap((g) => (req.dryRun ? g.mergedIds : [g.survivorId, ...g.mergedIds])));
  const changed: DecayRow[] = [];
  for (const row of loaded) {
    if (inMerge.has(row.id)) continue;
    const decay: DecayRow = { id: row.id, version: row.version, ...decayOf(row.confidence, row.base ?? row.confidence, row.lastSeenAt, req.nominalMs, policy) };
    // Only rows whose stored values change are written.
    if (decay.archive || decay.decays || row.base === null) changed.push(decay);
  }
  if (req.dryRun) return { examined: loaded.length, merged: mergedIn(groups), ...decisions(changed), embedded: 0 };
  const byId = new Map(loaded.map((r) => [r.id, r]));
  const merges = batches(groups, policy.batchSize);
  let written: Written = { merged: 0, decayed: 0, archived: 0, batches: 0 };
  for (let i = 0; i < Math.max(merges.length, Math.ceil(changed.length / policy.batchSize)); i++) {
    const batch = { groups: merges[i] ?? [], decays: changed.slice(i * policy.batchSize, (i + 1) * policy.batchSize) };
    const done = await write(db, req.scope, batch, byId, req.nominalMs, policy);
    if (!done.ok) return { changed: written };
    const wrote = added({ merged: mergedIn(batch.groups), decayed: done.decayed, archived: done.archived }, { merged: 0, ...decisions(done.kept) });
    written = { ...added(written, wrote), batches: written.batches + 1 };
    beat({ phase: 'write', batch: i + 1 });
  }
  return { examined: loaded.length, merged: written.merged, decayed: written.decayed, archived: written.archived, embedded: 0 };
}

const mergedIn = (groups: readonly MergeGroup[]) => groups.reduce((n, g) => n + g.mergedIds.length, 0);

/** How many of `decided` lower a confidence, and how many archive. */
function decisions(decided: readonly Decay[]): Pick<Counts, 'decayed' | 'archived'> {
  return { decayed: decided.filter((d) => d.decays).length, archived: decided.filter((d) => d.archive).length };
}
