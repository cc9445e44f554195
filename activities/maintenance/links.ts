/**
 * A merge moves the merged signals' evidence links to the survivor (issue 18): one link per
 * (evidence, signal), so where the survivor (or two merged signals) already link an item, the
 * stronger score's link is kept (the survivor's own on a tie). No link is lost: every item
 * linked to a member of the group is linked to the survivor after.
 */
import { sql } from 'drizzle-orm';
import { arrayParam } from '../db/array-param.js';
import type { Tx } from '../events.js';

/**
 * For a batch of merge groups at once, one statement: the members' links are deleted and the
 * strongest of each (survivor, item) upserted onto the survivor, replacing its own only when
 * stronger. Set-based, so a batch with no links costs one round trip and moves nothing.
 */
export async function moveLinks(tx: Tx, groups: readonly { survivorId: string; memberIds: readonly string[] }[]): Promise<void> {
  const members = groups.flatMap((g) => g.memberIds);
  if (members.length === 0) return;
  const survivors = groups.flatMap((g) => g.memberIds.map(() => g.survivorId));
  // The deleted rows are members' links, the upserted ones the survivors': never the same row.
  await tx.execute(sql`
    with moved as (
      delete from evidence_signal_links l using unnest(${arrayParam(members)}::uuid[], ${arrayParam(survivors)}::uuid[]) as v(member, survivor)
      where l.signal_id = v.member
      returning l.evidence_id, v.survivor, l.case_id, l.relation, l.reasoning, l.score, l.created_at
    ), strongest as (
      select distinct on (survivor, evidence_id) * from moved order by survivor, evidence_id, score desc
    )
    insert into evidence_signal_links (evidence_id, signal_id, case_id, relation, reasoning, score, created_at)
    select evidence_id, survivor, case_id, relation, reasoning, score, created_at from strongest
    on conflict (evidence_id, signal_id) do update
      set relation = excluded.relation, reasoning = excluded.reasoning, score = excluded.score
      where excluded.score > evidence_signal_links.score`);
}
