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
import { and, eq, isNull, sql } from 'drizzle-orm';
import { arrayParam } from '../db/array-param.js';
import type { Db } from '../db/client.js';
import { beat } from '../heartbeat.js';
import { signals } from '../db/schema/index.js';
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

export const scopeFilter = (scope: SignalScope) =>
  scope.kind === 'thread' ? eq(signals.threadId, scope.id) : and(eq(signals.caseId, scope.id), isNull(signals.threadId));

const activeIn = (scope: SignalScope) => and(scopeFilter(scope), eq(signals.status, 'active'));

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

/** A scope's active signal as read once (timestamps also as PostgreSQL renders them: the writes are guarded by them). */
interface ScopeRow {
  id: string;
  confidence: number;
  base: number | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  seen: string;
  lastReferencedAt: Date | null;
  referenced: string | null;
  referenceCount: number;
  embedding: number[] | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

const fields = (r: ScopeRow) => ({
  confidence: r.confidence,
  baseConfidence: r.base ?? r.confidence,
  firstSeenAt: r.firstSeenAt.getTime(),
  lastSeenAt: r.lastSeenAt.getTime(),
  lastReferencedAt: r.lastReferencedAt === null ? null : r.lastReferencedAt.getTime(),
  referenceCount: r.referenceCount,
});

interface DecayRow extends Decay {
  id: string;
  base: number;
  seen: string;
}

/** One write: a batch of merges (all or none) and a batch of decays, either possibly empty. */
interface WriteBatch {
  groups: readonly MergeGroup[];
  decays: readonly DecayRow[];
}

/**
 * One statement (so one transaction: a kill leaves all of it or none), the same text whatever
 * the sizes (arrays, `unnest`), applied only if every signal of its merges is, locked, still as
 * read (active, not seen, mentioned or linked since; `ok` false: nothing is written and the
 * caller reads again, so its report counts what the next read finds): the merges of a batch of
 * groups, the survivors decayed to the run's date on the way, the members merged, what was
 * merged into them re-pointed (one hop, always), their links moved (./links.ts); and the decay
 * of a batch of rows outside any group, each guarded by its `last_seen_at` as read (a signal
 * re-mentioned meanwhile, seen now, is left to the next run). Never one row twice: survivors,
 * members and decayed rows are distinct active rows, re-pointed ones merged.
 */
async function write(db: Db, batch: WriteBatch, byId: ReadonlyMap<string, ScopeRow>, nominalMs: number, policy: Policy): Promise<{ ok: boolean; kept: Decay[] }> {
  const guarded = batch.groups.flatMap((g) => [g.survivorId, ...g.mergedIds]).sort().map((id) => byId.get(id)!);
  const kept = batch.groups.map((g) => {
    const f = combineSurvivor(fields(byId.get(g.survivorId)!), g.mergedIds.map((id) => fields(byId.get(id)!)));
    return { id: g.survivorId, f, decay: decayOf(f.confidence, f.baseConfidence, f.lastSeenAt, nominalMs, policy) };
  });
  const members = arrayParam(batch.groups.flatMap((g) => g.mergedIds));
  const survivorOf = arrayParam(batch.groups.flatMap((g) => g.mergedIds.map(() => g.survivorId)));
  const d = batch.decays;
  const [row] = await db.execute<{ ok: boolean }>(sql`
    with guard as (
      select * from unnest(${arrayParam(guarded.map((r) => r.id))}::uuid[], ${arrayParam(guarded.map((r) => r.seen))}::timestamptz[],
        ${arrayParam(guarded.map((r) => r.referenced))}::timestamptz[], ${arrayParam(guarded.map((r) => r.referenceCount))}::int[])
        as g(id, seen, referenced, refs)
    ), locked as (
      select s.id from signals s join guard g on s.id = g.id
      where s.status = 'active' and s.last_seen_at = g.seen and s.last_referenced_at is not distinct from g.referenced
        and s.reference_count = g.refs
      order by s.id for update of s
    ), ok as (
      select count(*) = (select count(*) from guard) as ok from locked
    ), kept as (
      update signals set confidence = v.confidence, base_confidence = v.base, first_seen_at = v.first_seen,
        last_seen_at = v.last_seen, last_referenced_at = v.last_referenced, reference_count = v.refs,
        status = case when v.archive then 'archived' else signals.status end
      from ok, unnest(${arrayParam(kept.map((k) => k.id))}::uuid[], ${arrayParam(kept.map((k) => k.decay.confidence))}::real[],
        ${arrayParam(kept.map((k) => k.f.baseConfidence))}::real[], ${arrayParam(kept.map((k) => iso(k.f.firstSeenAt)))}::timestamptz[],
        ${arrayParam(kept.map((k) => iso(k.f.lastSeenAt)))}::timestamptz[], ${arrayParam(kept.map((k) => iso(k.f.lastReferencedAt)))}::timestamptz[],
        ${arrayParam(kept.map((k) => k.f.referenceCount))}::int[], ${arrayParam(kept.map((k) => k.decay.archive))}::boolean[])
        as v(id, confidence, base, first_seen, last_seen, last_referenced, refs, archive)
      where ok.ok and signals.id = v.id returning 1
    ), merged as (
      update signals set status = 'merged', merged_into = v.survivor
      from ok, unnest(${members}::uuid[], ${survivorOf}::uuid[]) as v(member, survivor)
      where ok.ok and signals.id = v.member returning 1
    ), repointed as (
      update signals set merged_into = v.survivor
      from ok, unnest(${members}::uuid[], ${survivorOf}::uuid[]) as v(member, survivor)
      where ok.ok and signals.merged_into = v.member returning 1
    ), ${moveLinksCtes(members, survivorOf)}, decayed as (
      update signals set confidence = v.confidence, base_confidence = v.base,
        status = case when v.archive then 'archived' else signals.status end
      from ok, unnest(${arrayParam(d.map((r) => r.id))}::uuid[], ${arrayParam(d.map((r) => r.confidence))}::real[],
        ${arrayParam(d.map((r) => r.base))}::real[], ${arrayParam(d.map((r) => r.seen))}::timestamptz[],
        ${arrayParam(d.map((r) => r.archive))}::boolean[]) as v(id, confidence, base, seen, archive)
      where ok.ok and signals.id = v.id and signals.status = 'active' and signals.last_seen_at = v.seen returning 1
    )
    select ok.ok from ok`);
  return { ok: row!.ok, kept: kept.map((k) => k.decay) };
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
function readScope(db: Db, scope: SignalScope): Promise<ScopeRow[]> {
  return db
    .select({
      id: signals.id,
      confidence: signals.confidence,
      base: signals.baseConfidence,
      firstSeenAt: signals.firstSeenAt,
      lastSeenAt: signals.lastSeenAt,
      seen: sql<string>`${signals.lastSeenAt}::text`,
      lastReferencedAt: signals.lastReferencedAt,
      referenced: sql<string | null>`${signals.lastReferencedAt}::text`,
      referenceCount: signals.referenceCount,
      embedding: sql<number[] | null>`${signals.embedding}::text`.mapWith(vectorFromText),
    })
    .from(signals)
    .where(activeIn(scope));
}

/**
 * A `real[]` as PostgreSQL renders it (`{0.1,-2e-05}`), parsed natively: the driver's own array
 * parser walks every character in JavaScript, the larger part of reading a scope. `NaN` and
 * `Infinity` are not JSON: such a vector goes through `Number`.
 */
function vectorFromText(text: string): number[] {
  const inner = text.slice(1, -1);
  try {
    return JSON.parse(`[${inner}]`) as number[];
  } catch {
    return inner === '' ? [] : inner.split(',').map(Number);
  }
}

/** Reads again when a merge found its rows changed since read (a re-mention, a new link) this often, then fails (retried). */
const READS = 3;

export async function consolidateScope(db: Db, policy: Policy, req: ConsolidateScopeRequest): Promise<ConsolidateScopeResult> {
  for (let read = 1; ; read++) {
    const result = await consolidateOnce(db, policy, req);
    if (result !== 'changed') return result;
    if (read === READS) throw new Error(`the signals of ${req.scope.kind} ${req.scope.id} kept changing while they were consolidated`);
  }
}

async function consolidateOnce(db: Db, policy: Policy, req: ConsolidateScopeRequest): Promise<ConsolidateScopeResult | 'changed'> {
  const loaded = await readScope(db, req.scope);
  if (!req.skipEmbedding && !req.dryRun) {
    const missing = loaded.filter((r) => r.embedding === null).slice(0, EMBED_ROUND);
    if (missing.length > 0) return { unembedded: missing.map((m) => m.id) };
  }
  const groups = dedupGroups(
    loaded.map((r) => ({ ...r, firstSeenAt: r.firstSeenAt.getTime() })),
    policy.mergeSimilarity,
  );
  const merged = groups.reduce((n, g) => n + g.mergedIds.length, 0);
  // Survivors are decayed in their merge, members not at all; a dry run merges nothing, so
  // its survivors decay as they are.
  const inMerge = new Set(groups.flatMap((g) => (req.dryRun ? g.mergedIds : [g.survivorId, ...g.mergedIds])));
  const decays: DecayRow[] = [];
  const changed: DecayRow[] = [];
  for (const row of loaded) {
    if (inMerge.has(row.id)) continue;
    const base = row.base ?? row.confidence;
    const decay: DecayRow = { id: row.id, base, seen: row.seen, ...decayOf(row.confidence, base, row.lastSeenAt.getTime(), req.nominalMs, policy) };
    decays.push(decay);
    // Only rows whose stored values change are written.
    if (decay.archive || decay.decays || row.base === null) changed.push(decay);
  }
  const counted: Decay[] = [...decays];
  if (!req.dryRun) {
    const byId = new Map(loaded.map((r) => [r.id, r]));
    const merges = batches(groups, policy.batchSize);
    for (let i = 0; i < Math.max(merges.length, Math.ceil(changed.length / policy.batchSize)); i++) {
      const batch = { groups: merges[i] ?? [], decays: changed.slice(i * policy.batchSize, (i + 1) * policy.batchSize) };
      const done = await write(db, batch, byId, req.nominalMs, policy);
      if (!done.ok) return 'changed';
      counted.push(...done.kept);
      beat({ phase: 'write', batch: i + 1 });
    }
  }
  return {
    examined: loaded.length,
    merged,
    decayed: counted.filter((d) => d.decays).length,
    archived: counted.filter((d) => d.archive).length,
    embedded: 0,
  };
}
