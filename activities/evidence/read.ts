/**
 * What an item bears on, read for display: its links to signals (with the signal's type and
 * text) and its contradictions (from either side, with the other side's kind, id and text).
 * A few queries for a whole page of items, never one per item.
 */
import { and, asc, desc, eq, inArray, or } from 'drizzle-orm';
import { contradictions, evidence, evidenceSignalLinks, signals, type ContradictionItemKind, type EvidenceRelation } from '../db/schema/index.js';
import type { Queryable } from '../events.js';

export interface ShownLink {
  signalId: string;
  signalType: string;
  signalText: string;
  relation: EvidenceRelation;
  reasoning: string;
  score: number;
}

export interface ShownContradiction {
  /** The other side of the pair. */
  kind: ContradictionItemKind;
  id: string;
  /** Its text, the first OTHER_SIDE_MAX_CHARS characters (`…` where cut): an item is read whole through its own route. */
  text: string;
  reason: string;
  score: number;
}

export interface Relations {
  links: ShownLink[];
  contradictions: ShownContradiction[];
}

/** An item contradicted by many later ones shows its strongest. */
export const CONTRADICTIONS_SHOWN = 50;
export const OTHER_SIDE_MAX_CHARS = 500;

const clipped = (text: string) => (text.length > OTHER_SIDE_MAX_CHARS ? `${text.slice(0, OTHER_SIDE_MAX_CHARS)}…` : text);

async function linksOf(db: Queryable, ids: string[]) {
  return db
    .select({
      evidenceId: evidenceSignalLinks.evidenceId,
      signalId: evidenceSignalLinks.signalId,
      signalType: signals.type,
      signalText: signals.text,
      relation: evidenceSignalLinks.relation,
      reasoning: evidenceSignalLinks.reasoning,
      score: evidenceSignalLinks.score,
    })
    .from(evidenceSignalLinks)
    .innerJoin(signals, eq(signals.id, evidenceSignalLinks.signalId))
    .where(inArray(evidenceSignalLinks.evidenceId, ids))
    .orderBy(desc(evidenceSignalLinks.score), asc(evidenceSignalLinks.signalId));
}

/** The texts of the other sides, by `kind:id`; a side deleted since (a thread and its signals) is absent. */
async function textsOf(db: Queryable, caseId: string, sides: { kind: ContradictionItemKind; id: string }[]): Promise<Map<string, string>> {
  const idsOf = (kind: ContradictionItemKind) => [...new Set(sides.filter((s) => s.kind === kind).map((s) => s.id))];
  const [items, sigs] = await Promise.all([
    idsOf('evidence').length === 0 ? [] : db.select({ id: evidence.id, text: evidence.text }).from(evidence).where(and(eq(evidence.caseId, caseId), inArray(evidence.id, idsOf('evidence')))),
    idsOf('signal').length === 0 ? [] : db.select({ id: signals.id, text: signals.text }).from(signals).where(inArray(signals.id, idsOf('signal'))),
  ]);
  return new Map([...items.map((r) => [`evidence:${r.id}`, r.text] as const), ...sigs.map((r) => [`signal:${r.id}`, r.text] as const)]);
}

/** The relations of these items of one case, by item id (every id gets an entry). */
export async function relationsOf(db: Queryable, caseId: string, ids: string[]): Promise<Map<string, Relations>> {
  const byItem = new Map<string, Relations>(ids.map((id) => [id, { links: [], contradictions: [] }]));
  if (ids.length === 0) return byItem;
  const asLeft = and(eq(contradictions.leftKind, 'evidence'), inArray(contradictions.leftId, ids));
  const asRight = and(eq(contradictions.rightKind, 'evidence'), inArray(contradictions.rightId, ids));
  const [links, pairs] = await Promise.all([
    linksOf(db, ids),
    db.select().from(contradictions).where(and(eq(contradictions.caseId, caseId), or(asLeft, asRight))).orderBy(desc(contradictions.score), asc(contradictions.id)),
  ]);
  for (const { evidenceId, ...link } of links) byItem.get(evidenceId)?.links.push(link);
  // A pair of two items of the page shows on both.
  const seen = pairs.flatMap((p) => [
    { item: p.leftKind === 'evidence' ? p.leftId : null, other: { kind: p.rightKind, id: p.rightId }, pair: p },
    { item: p.rightKind === 'evidence' ? p.rightId : null, other: { kind: p.leftKind, id: p.leftId }, pair: p },
  ]).filter((s) => s.item !== null && byItem.has(s.item));
  const texts = await textsOf(db, caseId, seen.map((s) => s.other));
  for (const { item, other, pair } of seen) {
    const shown = byItem.get(item!)!.contradictions;
    const text = texts.get(`${other.kind}:${other.id}`);
    if (text !== undefined && shown.length < CONTRADICTIONS_SHOWN) shown.push({ ...other, text: clipped(text), reason: pair.reason, score: pair.score });
  }
  return byItem;
}
