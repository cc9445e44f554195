/**
 * One scope's consolidation (issue 18; Decisions 22, 34): dedup, then decay and archive, as
 * the pure maths (./signal-maths.ts) decide, applied in batches of transactions with a
 * heartbeat after each. Every write is computed from what the rows hold now, so a retried
 * attempt (or a second run for the same date) re-reads, finds what is done, and changes nothing:
 * a merged signal is no longer active, and decay from the stored base to the same date gives
 * the same value.
 *
 * Cost (the bench's consolidation scenario): the scope is read once; a merge batch is one
 * transaction of three statements (lock, write, links) that also decays its survivors; what
 * is left is decayed by one statement a batch, and only rows whose stored value changes are
 * written. A scope with nothing due is one read.
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { arrayParam } from '../db/array-param.js';
import type { Db } from '../db/client.js';
import { beat } from '../heartbeat.js';
import { signals } from '../db/schema/index.js';
import type { Tx } from '../events.js';
import { moveLinks } from './links.js';
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

/** What a batch of merges did: the signals it wrote (left out of the decay pass) and its survivors' decay. */
interface MergeOutcome {
  merged: number;
  handled: string[];
  decays: Decay[];
}

const ms = (d: Date | null) => (d === null ? null : d.getTime());

/**
 * Merges one batch of groups in one transaction, from the rows as they are now (locked): the
 * survivors (decayed to the run's date on the way: the decay pass leaves them alone), the
 * members and the re-pointing in one statement, the links in one more.
 */
async function applyMerges(tx: Tx, groups: readonly MergeGroup[], nominalMs: number, policy: Policy): Promise<MergeOutcome> {
  const ids = groups.flatMap((g) => [g.survivorId, ...g.mergedIds]).sort();
  const rows = await tx
    .select({
      id: signals.id,
      status: signals.status,
      confidence: signals.confidence,
      baseConfidence: signals.baseConfidence,
      firstSeenAt: signals.firstSeenAt,
      lastSeenAt: signals.lastSeenAt,
      lastReferencedAt: signals.lastReferencedAt,
      referenceCount: signals.referenceCount,
    })
    .from(signals)
    .where(inArray(signals.id, ids))
    .orderBy(signals.id)
    .for('update');
  const byId = new Map(rows.map((r) => [r.id, r]));
  const fields = (r: (typeof rows)[number]) => ({
    confidence: r.confidence,
    baseConfidence: r.baseConfidence ?? r.confidence,
    firstSeenAt: r.firstSeenAt.getTime(),
    lastSeenAt: r.lastSeenAt.getTime(),
    lastReferencedAt: ms(r.lastReferencedAt),
    referenceCount: r.referenceCount,
  });
  const kept: { id: string; fields: ReturnType<typeof combineSurvivor>; decay: Decay }[] = [];
  const linkMoves: { survivorId: string; memberIds: string[] }[] = [];
  for (const group of groups) {
    const survivor = byId.get(group.survivorId);
    const members = group.mergedIds.flatMap((id) => {
      const row = byId.get(id);
      return row?.status === 'active' ? [row] : [];
    });
    if (survivor?.status !== 'active' || members.length === 0) continue;
    const fieldsKept = combineSurvivor(fields(survivor), members.map(fields));
    kept.push({ id: survivor.id, fields: fieldsKept, decay: decayOf(fieldsKept.confidence, fieldsKept.baseConfidence, fieldsKept.lastSeenAt, nominalMs, policy) });
    linkMoves.push({ survivorId: survivor.id, memberIds: members.map((m) => m.id) });
  }
  const decays = kept.map((k) => k.decay);
  if (linkMoves.length === 0) return { merged: 0, handled: [], decays };
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const members = arrayParam(linkMoves.flatMap((g) => g.memberIds));
  const survivorOfMember = arrayParam(linkMoves.flatMap((g) => g.memberIds.map(() => g.survivorId)));
  // Three sets of rows, never one row twice: the survivors and members are active (locked
  // above), the re-pointed ones (merged into a member earlier: one hop, always) are merged.
  await tx.execute(sql`
    with kept as (
      update signals set confidence = v.confidence, base_confidence = v.base, first_seen_at = v.first_seen,
        last_seen_at = v.last_seen, last_referenced_at = v.last_referenced, reference_count = v.refs,
        status = case when v.archive then 'archived' else signals.status end
      from unnest(${arrayParam(kept.map((k) => k.id))}::uuid[], ${arrayParam(kept.map((k) => k.decay.confidence))}::real[],
        ${arrayParam(kept.map((k) => k.fields.baseConfidence))}::real[], ${arrayParam(kept.map((k) => iso(k.fields.firstSeenAt)))}::timestamptz[],
        ${arrayParam(kept.map((k) => iso(k.fields.lastSeenAt)))}::timestamptz[], ${arrayParam(kept.map((k) => iso(k.fields.lastReferencedAt)))}::timestamptz[],
        ${arrayParam(kept.map((k) => k.fields.referenceCount))}::int[], ${arrayParam(kept.map((k) => k.decay.archive))}::boolean[])
        as v(id, confidence, base, first_seen, last_seen, last_referenced, refs, archive)
      where signals.id = v.id returning 1
    ), members as (
      update signals set status = 'merged', merged_into = v.survivor
      from unnest(${members}::uuid[], ${survivorOfMember}::uuid[]) as v(member, survivor) where signals.id = v.member returning 1
    )
    update signals set merged_into = v.survivor
    from unnest(${members}::uuid[], ${survivorOfMember}::uuid[]) as v(member, survivor) where signals.merged_into = v.member`);
  await moveLinks(tx, linkMoves);
  return {
    merged: linkMoves.reduce((n, g) => n + g.memberIds.length, 0),
    handled: linkMoves.flatMap((g) => [g.survivorId, ...g.memberIds]),
    decays,
  };
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

interface DecayRow extends Decay {
  id: string;
  base: number;
  /** As PostgreSQL renders it (to the microsecond): the write is guarded by it. */
  seen: string;
}

/**
 * Decay and archive, guarded by `last_seen_at` as read: a signal re-mentioned meanwhile (seen
 * now, revived) is left to the next run rather than decayed from its old sighting.
 */
async function applyDecay(db: Db, rows: readonly DecayRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.execute(sql`
    update signals set confidence = v.confidence, base_confidence = v.base,
      status = case when v.archive then 'archived' else signals.status end
    from unnest(${arrayParam(rows.map((r) => r.id))}::uuid[], ${arrayParam(rows.map((r) => r.confidence))}::real[],
      ${arrayParam(rows.map((r) => r.base))}::real[], ${arrayParam(rows.map((r) => r.seen))}::timestamptz[],
      ${arrayParam(rows.map((r) => r.archive))}::boolean[]) as v(id, confidence, base, seen, archive)
    where signals.id = v.id and signals.status = 'active' and signals.last_seen_at = v.seen`);
}

/** The scope's active signals, read once: what the dedup compares and what the decay starts from. */
function readScope(db: Db, scope: SignalScope) {
  return db
    .select({
      id: signals.id,
      confidence: signals.confidence,
      base: signals.baseConfidence,
      firstSeenAt: signals.firstSeenAt,
      lastSeenAt: signals.lastSeenAt,
      seen: sql<string>`${signals.lastSeenAt}::text`,
      embedding: signals.embedding,
    })
    .from(signals)
    .where(activeIn(scope));
}

async function mergeAll(db: Db, groups: readonly MergeGroup[], req: ConsolidateScopeRequest, policy: Policy): Promise<MergeOutcome> {
  const total: MergeOutcome = { merged: 0, handled: [], decays: [] };
  for (const batch of batches(groups, policy.batchSize)) {
    const done = await db.transaction((tx) => applyMerges(tx, batch, req.nominalMs, policy));
    total.merged += done.merged;
    total.handled.push(...done.handled);
    total.decays.push(...done.decays);
    beat({ phase: 'merge', merged: total.merged });
  }
  return total;
}

export async function consolidateScope(db: Db, policy: Policy, req: ConsolidateScopeRequest): Promise<ConsolidateScopeResult> {
  const loaded = await readScope(db, req.scope);
  if (!req.skipEmbedding && !req.dryRun) {
    const missing = loaded.filter((r) => r.embedding === null).slice(0, EMBED_ROUND);
    if (missing.length > 0) return { unembedded: missing.map((m) => m.id) };
  }
  const groups = dedupGroups(
    loaded.map((r) => ({ ...r, firstSeenAt: r.firstSeenAt.getTime() })),
    policy.mergeSimilarity,
  );
  // A dry run merges nothing: its survivors decay as they are, its members not at all.
  const merges: MergeOutcome = req.dryRun
    ? { merged: groups.reduce((n, g) => n + g.mergedIds.length, 0), handled: groups.flatMap((g) => g.mergedIds), decays: [] }
    : await mergeAll(db, groups, req, policy);
  const handled = new Set(merges.handled);
  const decays: Decay[] = [...merges.decays];
  const changed: DecayRow[] = [];
  for (const row of loaded) {
    if (handled.has(row.id)) continue;
    const base = row.base ?? row.confidence;
    const decay = decayOf(row.confidence, base, row.lastSeenAt.getTime(), req.nominalMs, policy);
    decays.push(decay);
    if (decay.archive || decay.decays || row.base === null) changed.push({ id: row.id, base, seen: row.seen, ...decay });
  }
  if (!req.dryRun) {
    for (let i = 0; i < changed.length; i += policy.batchSize) {
      await applyDecay(db, changed.slice(i, i + policy.batchSize));
      beat({ phase: 'decay', done: Math.min(i + policy.batchSize, changed.length) });
    }
  }
  return {
    examined: loaded.length,
    merged: merges.merged,
    decayed: decays.filter((d) => d.decays).length,
    archived: decays.filter((d) => d.archive).length,
    embedded: 0,
  };
}
