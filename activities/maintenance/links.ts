/**
 * A merge moves the merged signals' evidence links to the survivor (issue 18): one link per
 * (evidence, signal), so where the survivor (or two merged signals) already link an item, the
 * stronger score's link is kept. No link is lost: every item linked to a member of the group
 * is linked to the survivor after.
 */
import { inArray, sql } from 'drizzle-orm';
import { evidenceSignalLinks } from '../db/schema/index.js';
import type { Tx } from '../events.js';

/** For a batch of merge groups at once: one read, one delete and one upsert. */
export async function moveLinks(tx: Tx, groups: readonly { survivorId: string; memberIds: readonly string[] }[]): Promise<number> {
  const survivorOf = new Map<string, string>();
  for (const g of groups) for (const id of [g.survivorId, ...g.memberIds]) survivorOf.set(id, g.survivorId);
  const links = await tx.select().from(evidenceSignalLinks).where(inArray(evidenceSignalLinks.signalId, [...survivorOf.keys()]));
  const moving = links.filter((l) => survivorOf.get(l.signalId) !== l.signalId);
  if (moving.length === 0) return 0;
  // The strongest link of each (survivor, item), the survivor's own winning a tie.
  const strongest = new Map<string, (typeof links)[number]>();
  for (const link of links) {
    const survivorId = survivorOf.get(link.signalId)!;
    const key = `${survivorId}:${link.evidenceId}`;
    const best = strongest.get(key);
    if (!best || link.score > best.score || (link.score === best.score && link.signalId === survivorId)) strongest.set(key, link);
  }
  await tx.delete(evidenceSignalLinks).where(inArray(evidenceSignalLinks.signalId, groups.flatMap((g) => [...g.memberIds])));
  const rows = [...strongest.values()].map((l) => ({ ...l, signalId: survivorOf.get(l.signalId)! }));
  await tx
    .insert(evidenceSignalLinks)
    .values(rows)
    .onConflictDoUpdate({
      target: [evidenceSignalLinks.evidenceId, evidenceSignalLinks.signalId],
      set: { relation: sql`excluded.relation`, reasoning: sql`excluded.reasoning`, score: sql`excluded.score` },
    });
  return moving.length;
}
