/**
 * The brief's sections from its rows, by rule (pure): which rows land in which section, and
 * each item's and section's grounding. The model (purpose `brief`) only words what this
 * decides, so a section cites nothing the database does not hold.
 *
 * - summary: the case's goals (signals of type `goal`);
 * - key claims: signals of type `assumption`, `constraint` or `decision`;
 * - evidence for: evidence with a `supports` link to a signal of the case;
 * - evidence against: evidence with a `contradicts` link, or on either side of a recorded contradiction;
 * - open questions: signals of type `question`; risks: signals of type `risk`.
 *
 * Grounding (0-1). A link's weight is w = credibility × link score (an unscored item counts
 * 0.5). A signal's grounding is the chance that at least one supporting item holds, lowered
 * by each contradicting one: g = (1 − Π_supports (1 − w)) × Π_contradicting (1 − w), where a
 * recorded contradiction with an evidence item weighs credibility × its score. An evidence
 * item's grounding is its credibility. A section's grounding is the mean over its items (0
 * when empty); the brief's is the mean over every item of every section.
 */
import type { BriefItem } from '../db/schema/index.js';
import type { BriefDraftSection, BriefSectionKey } from '../llm/purposes/brief.js';
import type { BriefEvidence, BriefRows, BriefSignal } from './rows.js';

/** Items per section, and characters of an item's text in the brief (the row keeps all of it). */
export const BRIEF_SECTION_ITEMS = 25;
export const BRIEF_ITEM_CHARS = 500;
/** The credibility of an item not scored yet. */
export const UNSCORED_CREDIBILITY = 0.5;

export const SECTION_TITLES: Record<BriefSectionKey, string> = {
  summary: 'Summary',
  'key-claims': 'Key claims',
  'evidence-for': 'Evidence for',
  'evidence-against': 'Evidence against',
  'open-questions': 'Open questions',
  risks: 'Risks',
};

const CLAIM_TYPES = new Set(['assumption', 'constraint', 'decision']);

/** What bears on one signal, each with its weight. */
export interface Bearing {
  kind: 'evidence' | 'signal';
  id: string;
  weight: number;
}

/** The rows, indexed for the sections and the annotation rules. */
export interface BriefIndex {
  rows: BriefRows;
  evidenceById: Map<string, BriefEvidence>;
  signalById: Map<string, BriefSignal>;
  supports: Map<string, Bearing[]>;
  /** Evidence with a `contradicts` link, and either side of a recorded contradiction (signals too). */
  contradictedBy: Map<string, Bearing[]>;
}

export interface ComposedSection extends BriefDraftSection {
  items: (BriefItem & { grounding: number })[];
}

export interface ComposedBrief {
  index: BriefIndex;
  sections: ComposedSection[];
  grounding: number;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
export const credibilityOf = (e: BriefEvidence | undefined) => clamp01(e?.credibility ?? UNSCORED_CREDIBILITY);
const mean = (xs: number[]) => (xs.length === 0 ? 0 : round(xs.reduce((a, b) => a + b, 0) / xs.length));

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function indexRows(rows: BriefRows): BriefIndex {
  const evidenceById = new Map(rows.evidence.map((e) => [e.id, e]));
  const signalById = new Map(rows.signals.map((s) => [s.id, s]));
  const supports = new Map<string, Bearing[]>();
  const contradictedBy = new Map<string, Bearing[]>();
  for (const link of rows.links) {
    const weight = credibilityOf(evidenceById.get(link.evidenceId)) * clamp01(link.score);
    const bearing: Bearing = { kind: 'evidence', id: link.evidenceId, weight };
    if (link.relation === 'supports') push(supports, link.signalId, bearing);
    if (link.relation === 'contradicts') push(contradictedBy, link.signalId, bearing);
  }
  // A signal on the other side of a contradiction is not evidence: it raises an annotation, not a weight.
  const against = (kind: 'evidence' | 'signal', id: string, score: number): Bearing => ({
    kind, id, weight: kind === 'evidence' ? credibilityOf(evidenceById.get(id)) * clamp01(score) : 0,
  });
  for (const c of rows.contradictions) {
    push(contradictedBy, c.leftId, against(c.rightKind, c.rightId, c.score));
    push(contradictedBy, c.rightId, against(c.leftKind, c.leftId, c.score));
  }
  return { rows, evidenceById, signalById, supports, contradictedBy };
}

export function signalGrounding(index: BriefIndex, signalId: string): number {
  const missed = (index.supports.get(signalId) ?? []).reduce((p, b) => p * (1 - b.weight), 1);
  const kept = (index.contradictedBy.get(signalId) ?? []).reduce((p, b) => p * (1 - b.weight), 1);
  return round((1 - missed) * kept);
}

const clip = (text: string) => (text.length > BRIEF_ITEM_CHARS ? `${text.slice(0, BRIEF_ITEM_CHARS - 1)}…` : text);

function signalItems(index: BriefIndex, keep: (s: BriefSignal) => boolean) {
  return index.rows.signals
    .filter(keep)
    .slice(0, BRIEF_SECTION_ITEMS)
    .map((s) => ({ kind: 'signal' as const, id: s.id, text: clip(s.text), grounding: signalGrounding(index, s.id) }));
}

/** Evidence by its strongest bearing of one relation, strongest first (newest first on a tie). */
function evidenceItems(index: BriefIndex, strength: Map<string, number>) {
  return index.rows.evidence
    .filter((e) => strength.has(e.id))
    .sort((a, b) => strength.get(b.id)! - strength.get(a.id)!)
    .slice(0, BRIEF_SECTION_ITEMS)
    .map((e) => ({ kind: 'evidence' as const, id: e.id, text: clip(e.text), grounding: round(credibilityOf(e)) }));
}

/** Each evidence item's strongest weight in a relation: `supports` links, or what is against (contradicts links, contradictions). */
function strengths(index: BriefIndex, relation: 'supports' | 'against'): Map<string, number> {
  const best = new Map<string, number>();
  const note = (id: string, score: number) => {
    const weight = credibilityOf(index.evidenceById.get(id)) * clamp01(score);
    best.set(id, Math.max(best.get(id) ?? 0, weight));
  };
  for (const link of index.rows.links) {
    if (relation === 'supports' ? link.relation === 'supports' : link.relation === 'contradicts') note(link.evidenceId, link.score);
  }
  if (relation === 'against') {
    for (const c of index.rows.contradictions) {
      if (c.leftKind === 'evidence') note(c.leftId, c.score);
      if (c.rightKind === 'evidence') note(c.rightId, c.score);
    }
  }
  return best;
}

export function composeBrief(rows: BriefRows): ComposedBrief {
  const index = indexRows(rows);
  const items: Record<BriefSectionKey, ComposedSection['items']> = {
    summary: signalItems(index, (s) => s.type === 'goal'),
    'key-claims': signalItems(index, (s) => CLAIM_TYPES.has(s.type)),
    'evidence-for': evidenceItems(index, strengths(index, 'supports')),
    // Every evidence item of a recorded contradiction is against something, whatever the other side.
    'evidence-against': evidenceItems(index, strengths(index, 'against')),
    'open-questions': signalItems(index, (s) => s.type === 'question'),
    risks: signalItems(index, (s) => s.type === 'risk'),
  };
  const sections = (Object.keys(SECTION_TITLES) as BriefSectionKey[]).map((key) => ({
    key,
    title: SECTION_TITLES[key],
    items: items[key],
    grounding: mean(items[key].map((i) => i.grounding)),
  }));
  return { index, sections, grounding: mean(sections.flatMap((s) => s.items.map((i) => i.grounding))) };
}
