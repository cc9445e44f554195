/**
 * What a brief is computed from (Decision 27), read fresh from the database for every
 * evolution: the case, its active signals (its threads' and its own: `signals.case_id`), its
 * completed evidence, the links between them and its contradictions. Bounded, so an evolution
 * costs the same on a case of years: the newest and most confident rows first.
 */
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { cases, contradictions, evidence, evidenceSignalLinks, signals } from '../db/schema/index.js';
import type { ContradictionItemKind, EvidenceRelation } from '../db/schema/index.js';
import { notFound } from '../errors.js';

/** At most this many signals and evidence items of a case are read per evolution. */
export const BRIEF_MAX_SIGNALS = 500;
export const BRIEF_MAX_EVIDENCE = 500;
/** Contradictions read per evolution (pairs among the rows above). */
export const BRIEF_MAX_CONTRADICTIONS = 2_000;

export interface BriefSignal {
  id: string;
  type: string;
  text: string;
  confidence: number;
}

export interface BriefEvidence {
  id: string;
  text: string;
  /** 0-1; null until scored. */
  credibility: number | null;
  createdAt: Date;
}

export interface BriefLink {
  evidenceId: string;
  signalId: string;
  relation: EvidenceRelation;
  score: number;
}

export interface BriefContradiction {
  leftKind: ContradictionItemKind;
  leftId: string;
  rightKind: ContradictionItemKind;
  rightId: string;
  score: number;
}

export interface BriefRows {
  caseId: string;
  userId: string;
  title: string;
  description: string | null;
  signals: BriefSignal[];
  evidence: BriefEvidence[];
  links: BriefLink[];
  contradictions: BriefContradiction[];
}

export async function readBriefRows(db: Db, caseId: string): Promise<BriefRows> {
  const [found] = await db
    .select({ userId: cases.userId, title: cases.title, description: cases.description })
    .from(cases)
    .where(eq(cases.id, caseId));
  if (!found) throw notFound(`case ${caseId}`);
  const [signalRows, evidenceRows] = await Promise.all([
    db
      .select({ id: signals.id, type: signals.type, text: signals.text, confidence: signals.confidence })
      .from(signals)
      .where(and(eq(signals.caseId, caseId), eq(signals.status, 'active')))
      .orderBy(desc(signals.confidence), desc(signals.lastSeenAt), signals.id)
      .limit(BRIEF_MAX_SIGNALS),
    db
      .select({ id: evidence.id, text: evidence.text, credibility: evidence.credibility, createdAt: evidence.createdAt })
      .from(evidence)
      .where(and(eq(evidence.caseId, caseId), eq(evidence.status, 'completed')))
      .orderBy(desc(evidence.createdAt), evidence.id)
      .limit(BRIEF_MAX_EVIDENCE),
  ]);
  const evidenceIds = evidenceRows.map((e) => e.id);
  const signalIds = new Set(signalRows.map((s) => s.id));
  const evidenceIdSet = new Set(evidenceIds);
  const [linkRows, contradictionRows] = await Promise.all([
    evidenceIds.length === 0
      ? []
      : db
          .select({ evidenceId: evidenceSignalLinks.evidenceId, signalId: evidenceSignalLinks.signalId, relation: evidenceSignalLinks.relation, score: evidenceSignalLinks.score })
          .from(evidenceSignalLinks)
          .where(and(eq(evidenceSignalLinks.caseId, caseId), inArray(evidenceSignalLinks.evidenceId, evidenceIds))),
    db
      .select({ leftKind: contradictions.leftKind, leftId: contradictions.leftId, rightKind: contradictions.rightKind, rightId: contradictions.rightId, score: contradictions.score })
      .from(contradictions)
      .where(eq(contradictions.caseId, caseId))
      .orderBy(desc(contradictions.score), contradictions.id)
      .limit(BRIEF_MAX_CONTRADICTIONS),
  ]);
  // Only what joins the rows read: a link to an archived signal, a pair with a failed item, are not the brief's.
  const known = (kind: ContradictionItemKind, id: string) => (kind === 'signal' ? signalIds.has(id) : evidenceIdSet.has(id));
  return {
    caseId,
    ...found,
    signals: signalRows,
    evidence: evidenceRows,
    links: linkRows.filter((l) => signalIds.has(l.signalId)),
    contradictions: contradictionRows.filter((c) => known(c.leftKind, c.leftId) && known(c.rightKind, c.rightId)),
  };
}
