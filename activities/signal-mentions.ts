/**
 * What saying a stored signal again does (chat's step 5 and on-demand extraction share it;
 * issue 18): the signal is seen and referenced now, an archived one is revived (its decay
 * starts again from its base), and a merged one's mention counts for its survivor (a merge
 * always points at a signal that is not merged, so one hop reaches it).
 */
import { inArray, sql } from 'drizzle-orm';
import { signals } from './db/schema/index.js';
import type { Tx } from './events.js';

const seenAgain = {
  lastSeenAt: sql`now()`,
  lastReferencedAt: sql`now()`,
  status: sql`case when ${signals.status} = 'archived' then 'active' else ${signals.status} end`,
  confidence: sql`case when ${signals.status} = 'merged' then ${signals.confidence} else coalesce(${signals.baseConfidence}, ${signals.confidence}) end`,
};

/** The `ON CONFLICT DO UPDATE` set of an insert of signals that may exist: a merged row's count stays (its survivor's grows). */
export const mentionedAgain = {
  ...seenAgain,
  referenceCount: sql`case when ${signals.status} = 'merged' then ${signals.referenceCount} else ${signals.referenceCount} + excluded.reference_count end`,
};

/** What the upsert returns for `creditSurvivors`. */
export const mentionReturning = {
  id: signals.id,
  inserted: sql<boolean>`(xmax = 0)`,
  textHash: signals.textHash,
  mergedInto: signals.mergedInto,
};

/** Counts the mentions of merged signals for their survivors; `mentions` by text hash. */
export async function creditSurvivors(
  tx: Tx,
  stored: readonly { inserted: boolean; textHash: string; mergedInto: string | null }[],
  mentions: ReadonlyMap<string, number>,
): Promise<void> {
  const bySurvivor = new Map<string, number>();
  for (const row of stored) {
    if (row.inserted || !row.mergedInto) continue;
    bySurvivor.set(row.mergedInto, (bySurvivor.get(row.mergedInto) ?? 0) + (mentions.get(row.textHash) ?? 1));
  }
  // Ordered, so two extractions crediting the same survivors lock them in one order.
  for (const [id, count] of [...bySurvivor].sort(([a], [b]) => (a < b ? -1 : 1))) {
    await tx
      .update(signals)
      .set({ ...seenAgain, referenceCount: sql`${signals.referenceCount} + ${count}` })
      .where(inArray(signals.id, [id]));
  }
}
