/**
 * A merge moves the merged signals' evidence links to the survivor (issue 18): one link per
 * (evidence, signal), so where the survivor (or two merged signals) already link an item, the
 * stronger score's link is kept (the survivor's own on a tie). No link is lost: every item
 * linked to a member of the group is linked to the survivor after.
 */
import { sql, type Placeholder, type SQL } from 'drizzle-orm';

/**
 * The link move of a batch of merges, as common table expressions of the merge's one statement
 * (activities/maintenance/consolidation.ts), gated by its `ok`: the members' links deleted and
 * the strongest of each (survivor, item) upserted onto the survivor, replacing its own only when
 * stronger. `members` and `survivors` are the statement's array placeholders, pairwise. The deleted rows are
 * members' links, the upserted ones survivors': never the same row.
 */
export function moveLinksCtes(members: Placeholder, survivors: Placeholder): SQL {
  return sql`moved_links as (
      delete from evidence_signal_links l using ok, unnest(${members}::uuid[], ${survivors}::uuid[]) as v(member, survivor)
      where ok.ok and l.signal_id = v.member
      returning l.evidence_id, v.survivor, l.case_id, l.relation, l.reasoning, l.score, l.created_at
    ), strongest_links as (
      select distinct on (survivor, evidence_id) * from moved_links order by survivor, evidence_id, score desc
    ), linked as (
      insert into evidence_signal_links (evidence_id, signal_id, case_id, relation, reasoning, score, created_at)
      select evidence_id, survivor, case_id, relation, reasoning, score, created_at from strongest_links
      on conflict (evidence_id, signal_id) do update
        set relation = excluded.relation, reasoning = excluded.reasoning, score = excluded.score
        where excluded.score > evidence_signal_links.score
      returning 1
    )`;
}
