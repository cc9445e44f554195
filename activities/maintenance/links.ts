/**
 * A merge moves the merged signals' evidence links to the survivor (issue 18): one link per
 * (evidence, signal), so where the survivor (or two merged signals) already link an item, the
 * stronger score's link is kept. No link is lost: every item linked to a member of the group
 * is linked to the survivor after.
 */
import { inArray, sql } from 'drizzle-orm';
import { evidenceSignalLinks } from '../db/schema/index.js';
import type { Tx } from '../events.js';

export async function moveLinks(tx: Tx, survivorId: string, mergedIds: readonly string[]): Promise<number> {
  const links = await tx
    .select()
    .from(evidenceSignalLinks)
    .where(inArray(evidenceSignalLinks.signalId, [survivorId, ...mergedIds]));
  const moving = links.filter((l) => l.signalId !== survivorId);
  if (moving.length === 0) return 0;
  const strongest = new Map<string, (typeof links)[number]>();
  for (const link of links) {
    const best = strongest.get(link.evidenceId);
    if (!best || link.score > best.score || (link.score === best.score && link.signalId === survivorId)) strongest.set(link.evidenceId, link);
  }
  await tx.delete(evidenceSignalLinks).where(inArray(evidenceSignalLinks.signalId, [...mergedIds]));
  const rows = [...strongest.values()].map((l) => ({ ...l, signalId: survivorId }));
  await tx
    .insert(evidenceSignalLinks)
    .values(rows)
    .onConflictDoUpdate({
      target: [evidenceSignalLinks.evidenceId, evidenceSignalLinks.signalId],
      set: { relation: sql`excluded.relation`, reasoning: sql`excluded.reasoning`, score: sql`excluded.score` },
    });
  return moving.length;
}
