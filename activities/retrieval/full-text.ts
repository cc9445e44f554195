/**
 * The full-text side's ranking, shared by every source: `ts_rank_cd(tsv, query, 32)` over the
 * rows a source's `@@` matched (normalisation 32, rank / (rank + 1), keeps the raw rank's
 * order and reads as 0..1), the best `limit`, ties by id. A source may cap the matches it
 * hands over (`limit(maxRanked + 1)` on its match query): ranking reads each match's
 * `tsvector`, so a word every row holds would otherwise rank the whole case (~0.3 s at
 * 80 000 chunks on the server); a capped query ranks the first matches the index returns
 * and says so.
 */
import { asc, desc, sql, type AnyColumn, type Subquery } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { tsQuery } from './snippet.js';
import type { FullTextScan, PassageKind } from './types.js';

/** A source's match query as a subquery: the matched rows' ids and `tsvector`s. */
export type Matches = Subquery<'m', Record<string, unknown>> & { id: AnyColumn; tsv: AnyColumn };

export async function rankMatches(kind: PassageKind, db: Db, m: Matches, query: string, bounds: { limit: number; maxRanked: number }): Promise<FullTextScan> {
  const score = sql<number>`ts_rank_cd(${m.tsv}, ${tsQuery(query)}, 32)`;
  const rows = await db
    .select({ id: sql<string>`${m.id}`, score, matched: sql<number>`count(*) over ()` })
    .from(m)
    .orderBy(desc(score), asc(m.id))
    .limit(bounds.limit);
  return {
    candidates: rows.map((r) => ({ kind, id: r.id, score: Number(r.score) })),
    capped: bounds.maxRanked > 0 && rows.length > 0 && Number(rows[0]!.matched) > bounds.maxRanked,
  };
}
