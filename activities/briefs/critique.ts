/**
 * The critique agent's annotations (source `critique`, issue 20), by rule (pure) from the
 * composed brief, and their write. What a critique looks for in the case's key claims:
 * - `weak-claim`: grounding below `WEAK_GROUNDING` (no support, or only weak or contested support);
 * - `one-sided-sourcing`: supported by a single evidence item only;
 * - `missing-counter-evidence`: supported, and nothing against it was ever recorded;
 * - `open-contradiction`: each recorded contradiction between two items of the case, still open.
 * Keyed like the brief's own (`cause_key`: the cause and a fingerprint of it). The brief's
 * evolution never touches them (it writes source `brief` only), so they carry into every new
 * version; a re-run of the critique resolves the open ones it no longer finds (`critique`),
 * and never re-opens one a person resolved while its cause is unchanged.
 */
import { createHash } from 'node:crypto';
import { and, desc, eq, isNull, notInArray, sql } from 'drizzle-orm';
import { briefAnnotations, briefs } from '../db/schema/index.js';
import type { Tx } from '../events.js';
import type { ComposedBrief } from './compose.js';

/** A key claim grounded below this is weak (README "Brief": grounding 0-1). */
export const WEAK_GROUNDING = 0.5;
/** Issues one critique records at most (the rest are for the next run, once these are dealt with). */
export const MAX_CRITIQUE_ISSUES = 100;
const QUOTE_CHARS = 120;

export interface CritiqueDraft {
  kind: 'weak-claim' | 'one-sided-sourcing' | 'missing-counter-evidence' | 'open-contradiction';
  causeKey: string;
  sectionKey: string;
  subjectKind: 'evidence' | 'signal';
  subjectId: string;
  message: string;
}

const fingerprint = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
const quote = (text: string) => `"${text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS - 1)}…` : text}"`;

function claimIssues(brief: ComposedBrief): CritiqueDraft[] {
  const { index } = brief;
  const drafts: CritiqueDraft[] = [];
  for (const claim of brief.sections.find((s) => s.key === 'key-claims')?.items ?? []) {
    const text = index.signalById.get(claim.id)?.text ?? claim.text;
    const about = { sectionKey: 'key-claims', subjectKind: 'signal' as const, subjectId: claim.id };
    const supports = [...new Set((index.supports.get(claim.id) ?? []).map((b) => b.id))];
    const against = index.contradictedBy.get(claim.id) ?? [];
    if (claim.grounding < WEAK_GROUNDING) {
      drafts.push({
        kind: 'weak-claim', causeKey: `weak-claim:${claim.id}:${fingerprint(text)}`, ...about,
        message: `${quote(text)} is weakly supported (grounding ${claim.grounding.toFixed(2)}, ${supports.length} supporting item(s))`,
      });
    }
    if (supports.length === 1) {
      drafts.push({
        kind: 'one-sided-sourcing', causeKey: `one-sided-sourcing:${claim.id}:${fingerprint(text, supports[0]!)}`, ...about,
        message: `${quote(text)} rests on a single evidence item`,
      });
    }
    if (supports.length > 0 && against.length === 0) {
      drafts.push({
        kind: 'missing-counter-evidence', causeKey: `missing-counter-evidence:${claim.id}:${fingerprint(text)}`, ...about,
        message: `${quote(text)} has supporting evidence but none against it was recorded: was it looked for?`,
      });
    }
  }
  return drafts;
}

function contradictionIssues(brief: ComposedBrief): CritiqueDraft[] {
  const { index } = brief;
  const textOf = (kind: string, id: string) => (kind === 'evidence' ? index.evidenceById.get(id)?.text : index.signalById.get(id)?.text) ?? '';
  return index.rows.contradictions.map((c) => {
    const left = textOf(c.leftKind, c.leftId);
    const right = textOf(c.rightKind, c.rightId);
    return {
      kind: 'open-contradiction' as const,
      causeKey: `open-contradiction:${c.leftKind}:${c.leftId}:${c.rightKind}:${c.rightId}:${fingerprint(left, right)}`,
      sectionKey: c.leftKind === 'evidence' ? 'evidence-against' : 'key-claims',
      subjectKind: c.leftKind,
      subjectId: c.leftId,
      message: `${quote(left)} and ${quote(right)} contradict each other, and the case leaves it open`,
    };
  });
}

export function critiqueIssuesOf(brief: ComposedBrief): CritiqueDraft[] {
  const seen = new Set<string>();
  return [...claimIssues(brief), ...contradictionIssues(brief)]
    .filter((d) => !seen.has(d.causeKey) && seen.add(d.causeKey))
    .slice(0, MAX_CRITIQUE_ISSUES);
}

/**
 * Writes a critique's findings as annotations at the brief's latest version (0 before any):
 * the open `critique` annotations it no longer finds are resolved by it; a cause found again
 * is re-opened only if a critique resolved it (a person's resolution sticks).
 */
export async function applyCritique(tx: Tx, caseId: string, drafts: CritiqueDraft[], now: Date): Promise<{ created: number; resolved: number; open: number }> {
  const [latest] = await tx.select({ version: briefs.version }).from(briefs).where(eq(briefs.caseId, caseId)).orderBy(desc(briefs.version)).limit(1);
  const version = latest?.version ?? 0;
  const wanted = drafts.map((d) => d.causeKey);
  const resolved = await tx
    .update(briefAnnotations)
    .set({ resolvedInVersion: sql`greatest(${briefAnnotations.createdInVersion}, ${version})`, resolvedBy: 'critique', resolvedAt: now })
    .where(and(
      eq(briefAnnotations.caseId, caseId),
      eq(briefAnnotations.source, 'critique'),
      isNull(briefAnnotations.resolvedBy),
      wanted.length > 0 ? notInArray(briefAnnotations.causeKey, wanted) : undefined,
    ))
    .returning({ id: briefAnnotations.id });
  const written = drafts.length === 0 ? [] : await tx
    .insert(briefAnnotations)
    .values(drafts.map((d) => ({ ...d, caseId, source: 'critique' as const, createdInVersion: version })))
    .onConflictDoUpdate({
      target: [briefAnnotations.caseId, briefAnnotations.source, briefAnnotations.causeKey],
      set: { createdInVersion: version, resolvedInVersion: null, resolvedBy: null, resolvedAt: null, message: sql`excluded.message` },
      setWhere: sql`${briefAnnotations.resolvedBy} = 'critique'`,
    })
    .returning({ id: briefAnnotations.id });
  const [open] = await tx.select({ n: sql<number>`count(*)::int` }).from(briefAnnotations)
    .where(and(eq(briefAnnotations.caseId, caseId), eq(briefAnnotations.source, 'critique'), isNull(briefAnnotations.resolvedBy)));
  return { created: written.length, resolved: resolved.length, open: open?.n ?? 0 };
}
