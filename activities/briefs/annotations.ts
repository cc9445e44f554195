/**
 * The brief's own annotations (source `brief`), by rule (pure), from the composed brief:
 * - `unsupported-claim`: a key claim with no supporting evidence;
 * - `contradicted`: a key claim with a contradicting item (a `contradicts` link, or the other
 *   side of a recorded contradiction, evidence or signal), one per (claim, item);
 * - `stale-evidence`: evidence the brief cites, recorded more than `staleEvidenceDays` ago.
 * Each is keyed by its cause and a fingerprint of it (`cause_key`): the same cause is the same
 * annotation in every evolution, a changed cause (another contradicting item, another text) a
 * new one. That is how a person's resolution sticks while its cause is unchanged.
 */
import { createHash } from 'node:crypto';
import type { AnnotationKind } from '../db/schema/index.js';
import type { BriefSectionKey } from '../llm/purposes/brief.js';
import type { ComposedBrief } from './compose.js';

/** Contradicting items annotated per claim (the strongest first); the rest show in "evidence against". */
export const MAX_CONTRADICTIONS_PER_CLAIM = 5;
const QUOTE_CHARS = 120;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface AnnotationDraft {
  kind: Extract<AnnotationKind, 'unsupported-claim' | 'contradicted' | 'stale-evidence'>;
  causeKey: string;
  sectionKey: BriefSectionKey;
  subjectKind: 'evidence' | 'signal';
  subjectId: string;
  message: string;
}

const fingerprint = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
const quote = (text: string) => `"${text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS - 1)}…` : text}"`;

function claimAnnotations(brief: ComposedBrief): AnnotationDraft[] {
  const { index } = brief;
  const drafts: AnnotationDraft[] = [];
  for (const claim of brief.sections.find((s) => s.key === 'key-claims')?.items ?? []) {
    const text = index.signalById.get(claim.id)?.text ?? claim.text;
    const about = { sectionKey: 'key-claims' as const, subjectKind: 'signal' as const, subjectId: claim.id };
    if ((index.supports.get(claim.id) ?? []).length === 0) {
      drafts.push({ kind: 'unsupported-claim', causeKey: `unsupported-claim:${claim.id}:${fingerprint(text)}`, ...about, message: `${quote(text)} has no supporting evidence` });
    }
    const seen = new Set<string>();
    const against = [...(index.contradictedBy.get(claim.id) ?? [])].sort((a, b) => b.weight - a.weight);
    for (const item of against) {
      const other = `${item.kind}:${item.id}`;
      if (seen.has(other) || seen.size >= MAX_CONTRADICTIONS_PER_CLAIM) continue;
      seen.add(other);
      const otherText = (item.kind === 'evidence' ? index.evidenceById.get(item.id)?.text : index.signalById.get(item.id)?.text) ?? '';
      drafts.push({
        kind: 'contradicted',
        causeKey: `contradicted:${claim.id}:${other}:${fingerprint(text, otherText)}`,
        ...about,
        message: `${quote(text)} is contradicted by ${item.kind === 'evidence' ? 'evidence' : 'the signal'} ${quote(otherText)}`,
      });
    }
  }
  return drafts;
}

function staleAnnotations(brief: ComposedBrief, now: Date, staleEvidenceDays: number): AnnotationDraft[] {
  const cutoff = now.getTime() - staleEvidenceDays * DAY_MS;
  const drafts = new Map<string, AnnotationDraft>();
  for (const section of brief.sections) {
    for (const item of section.items) {
      const row = item.kind === 'evidence' ? brief.index.evidenceById.get(item.id) : undefined;
      if (!row || row.createdAt.getTime() >= cutoff || drafts.has(row.id)) continue;
      const recorded = row.createdAt.toISOString();
      drafts.set(row.id, {
        kind: 'stale-evidence',
        causeKey: `stale-evidence:${row.id}:${fingerprint(recorded)}`,
        sectionKey: section.key,
        subjectKind: 'evidence',
        subjectId: row.id,
        message: `${quote(row.text)} was recorded on ${recorded.slice(0, 10)}, more than ${staleEvidenceDays} days ago`,
      });
    }
  }
  return [...drafts.values()];
}

export function annotationsOf(brief: ComposedBrief, now: Date, staleEvidenceDays: number): AnnotationDraft[] {
  return [...claimAnnotations(brief), ...staleAnnotations(brief, now, staleEvidenceDays)];
}
