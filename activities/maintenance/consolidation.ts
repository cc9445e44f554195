/**
 * One scope's consolidation (issue 18; Decisions 22, 34): dedup, then decay and archive, as
 * the pure maths (./signal-maths.ts) decide, applied in batches of transactions with a
 * heartbeat after each. Every write is computed from what the rows hold now, so a retried
 * attempt (or a second run for the same date) re-reads, finds what is done, and changes nothing:
 * a merged signal is no longer active, and decay from the stored base to the same date gives
 * the same value.
 */
import { and, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
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

export const scopeFilter = (scope: SignalScope) =>
  scope.kind === 'thread' ? eq(signals.threadId, scope.id) : and(eq(signals.caseId, scope.id), isNull(signals.threadId));

const activeIn = (scope: SignalScope) => and(scopeFilter(scope), eq(signals.status, 'active'));


const ms = (d: Date | null) => (d === null ? null : d.getTime());

/**
 * Merges one batch of groups in one transaction, from the rows as they are now (locked): a
 * handful of statements for the whole batch (the survivors, the members, the re-pointing, the
 * links), not a handful per group.
 */
async function applyMerges(tx: Tx, groups: readonly MergeGroup[]): Promise<number> {
  const ids = groups.flatMap((g) => [g.survivorId, ...g.mergedIds]).sort();
  const rows = await tx.select().from(signals).where(inArray(signals.id, ids)).orderBy(signals.id).for('update');
  const byId = new Map(rows.map((r) => [r.id, r]));
  const fields = (r: (typeof rows)[number]) => ({
    confidence: r.confidence,
    baseConfidence: r.baseConfidence ?? r.confidence,
    firstSeenAt: r.firstSeenAt.getTime(),
    lastSeenAt: r.lastSeenAt.getTime(),
    lastReferencedAt: ms(r.lastReferencedAt),
    referenceCount: r.referenceCount,
  });
  const survivors: SQL[] = [];
  const moves: SQL[] = [];
  const linkMoves: { survivorId: string; memberIds: string[] }[] = [];
  for (const group of groups) {
    const survivor = byId.get(group.survivorId);
    const members = group.mergedIds.flatMap((id) => {
      const row = byId.get(id);
      return row?.status === 'active' ? [row] : [];
    });
    if (survivor?.status !== 'active' || members.length === 0) continue;
    const kept = combineSurvivor(fields(survivor), members.map(fields));
    const lastReferenced = kept.lastReferencedAt === null ? null : new Date(kept.lastReferencedAt).toISOString();
    survivors.push(sql`(${survivor.id}::uuid, ${kept.confidence}::real, ${kept.baseConfidence}::real,
      ${new Date(kept.firstSeenAt).toISOString()}::timestamptz, ${new Date(kept.lastSeenAt).toISOString()}::timestamptz,
      ${lastReferenced}::timestamptz, ${kept.referenceCount}::int)`);
    for (const m of members) moves.push(sql`(${m.id}::uuid, ${survivor.id}::uuid)`);
    linkMoves.push({ survivorId: survivor.id, memberIds: members.map((m) => m.id) });
  }
  if (linkMoves.length === 0) return 0;
  await tx.execute(sql`
    update signals set confidence = v.confidence, base_confidence = v.base, first_seen_at = v.first_seen,
      last_seen_at = v.last_seen, last_referenced_at = v.last_referenced, reference_count = v.refs
    from (values ${sql.join(survivors, sql`, `)}) as v(id, confidence, base, first_seen, last_seen, last_referenced, refs)
    where signals.id = v.id`);
  const memberToSurvivor = sql.join(moves, sql`, `);
  await tx.execute(sql`
    update signals set status = 'merged', merged_into = v.survivor
    from (values ${memberToSurvivor}) as v(member, survivor) where signals.id = v.member`);
  // Signals merged into these earlier now point at the survivor: one hop, always.
  await tx.execute(sql`
    update signals set merged_into = v.survivor
    from (values ${memberToSurvivor}) as v(member, survivor) where signals.merged_into = v.member`);
  await moveLinks(tx, linkMoves);
  return linkMoves.reduce((n, g) => n + g.memberIds.length, 0);
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

interface DecayRow {
  id: string;
  confidence: number;
  base: number;
  /** As PostgreSQL renders it (to the microsecond): the write is guarded by it. */
  seen: string;
  archive: boolean;
  /** Its confidence changes (else it is written for its base or its archiving alone). */
  decays: boolean;
}

/**
 * Decay and archive, guarded by `last_seen_at` as read: a signal re-mentioned meanwhile (seen
 * now, revived) is left to the next run rather than decayed from its old sighting.
 */
async function applyDecay(db: Db, rows: readonly DecayRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = sql.join(
    rows.map((r) => sql`(${r.id}::uuid, ${r.confidence}::real, ${r.base}::real, ${r.seen}::timestamptz, ${r.archive})`),
    sql`, `,
  );
  await db.execute(sql`
    update signals set confidence = v.confidence, base_confidence = v.base,
      status = case when v.archive then 'archived' else signals.status end
    from (values ${values}) as v(id, confidence, base, seen, archive)
    where signals.id = v.id and signals.status = 'active' and signals.last_seen_at = v.seen`);
}

export async function consolidateScope(db: Db, policy: MathsPolicy & { batchSize: number }, req: ConsolidateScopeRequest): Promise<ConsolidateScopeResult> {
  if (!req.skipEmbedding && !req.dryRun) {
    const missing = await db.select({ id: signals.id }).from(signals).where(and(activeIn(req.scope), isNull(signals.embedding))).limit(EMBED_ROUND);
    if (missing.length > 0) return { unembedded: missing.map((m) => m.id) };
  }
  const loaded = await db
    .select({ id: signals.id, confidence: signals.confidence, firstSeenAt: signals.firstSeenAt, embedding: signals.embedding })
    .from(signals)
    .where(activeIn(req.scope));
  const groups = dedupGroups(
    loaded.map((r) => ({ ...r, firstSeenAt: r.firstSeenAt.getTime() })),
    policy.mergeSimilarity,
  );
  let merged = 0;
  if (req.dryRun) merged = groups.reduce((n, g) => n + g.mergedIds.length, 0);
  else {
    for (const batch of batches(groups, policy.batchSize)) {
      merged += await db.transaction((tx) => applyMerges(tx, batch));
      beat({ phase: 'merge', merged });
    }
  }
  const dryMerged = new Set(req.dryRun ? groups.flatMap((g) => g.mergedIds) : []);
  const active = await db
    .select({
      id: signals.id,
      confidence: signals.confidence,
      base: signals.baseConfidence,
      lastSeenAt: signals.lastSeenAt,
      seen: sql<string>`${signals.lastSeenAt}::text`,
    })
    .from(signals)
    .where(activeIn(req.scope));
  const changed: DecayRow[] = [];
  for (const row of active) {
    if (dryMerged.has(row.id)) continue;
    const base = row.base ?? row.confidence;
    const confidence = decayedConfidence(base, row.lastSeenAt.getTime(), req.nominalMs, policy.halfLifeDays);
    const archive = shouldArchive(confidence, policy.archiveBelow);
    const decays = changesReal(row.confidence, confidence);
    if (archive || decays || row.base === null) changed.push({ id: row.id, confidence, base, seen: row.seen, archive, decays });
  }
  const decayed = changed.filter((r) => r.decays).length;
  if (!req.dryRun) {
    for (let i = 0; i < changed.length; i += policy.batchSize) {
      await applyDecay(db, changed.slice(i, i + policy.batchSize));
      beat({ phase: 'decay', done: Math.min(i + policy.batchSize, changed.length) });
    }
  }
  return { examined: loaded.length, merged, decayed, archived: changed.filter((r) => r.archive).length, embedded: 0 };
}
