/**
 * One evolution's writes, in one transaction: the next version of the brief, its annotations
 * created and resolved, `BRIEF_EVOLVED`, and the model's usage. Versions are numbered under a
 * lock on the case row, so two evolutions of a case (a cancelled attempt still finishing, a
 * retry beside a new window) take turns instead of colliding on (case, version). The
 * evolution's key makes a retried attempt find its version instead of adding one.
 */
import { and, desc, eq, isNull, notInArray, sql } from 'drizzle-orm';
import { briefAnnotations, briefs, cases, type BriefRow, type BriefSection } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import { emitEvent, type Queryable, type Tx } from '../events.js';
import type { AttemptMeter } from '../usage.js';
import type { BriefChanges, EvolveCaseBriefResult } from '../../workflows/types.js';
import type { AnnotationDraft } from './annotations.js';

/** Ids of annotations an event lists (their counts are always whole). */
const EVENT_ANNOTATION_IDS = 50;

export interface Evolution {
  caseId: string;
  userId: string;
  evolutionKey: string;
  changes: BriefChanges;
  sections: BriefSection[];
  grounding: number;
  annotations: AnnotationDraft[];
  now: Date;
  meter: AttemptMeter;
}

export const briefEvolvedKey = (caseId: string, version: number) => `brief-evolved:${caseId}:${version}`;

/** What a section says, for "updated since the previous version". */
const sectionShape = (s: BriefSection) => JSON.stringify([s.title, s.text, s.grounding, s.items.map((i) => [i.kind, i.id, i.text, i.grounding])]);

export function sectionsUpdated(previous: BriefSection[] | undefined, next: BriefSection[]): string[] {
  const before = new Map((previous ?? []).map((s) => [s.key, sectionShape(s)]));
  return next.filter((s) => before.get(s.key) !== sectionShape(s)).map((s) => s.key);
}

async function versionRow(q: Queryable, caseId: string, version: number): Promise<BriefRow | undefined> {
  const [row] = await q.select().from(briefs).where(and(eq(briefs.caseId, caseId), eq(briefs.version, version)));
  return row;
}

/** The result of an evolution already written, from the tables (events may be cleaned up: Decision 33). */
export async function writtenEvolution(q: Queryable, evolutionKey: string): Promise<EvolveCaseBriefResult | null> {
  const [row] = await q.select().from(briefs).where(eq(briefs.evolutionKey, evolutionKey));
  if (!row) return null;
  const previous = await versionRow(q, row.caseId, row.version - 1);
  const [counts] = await q
    .select({
      created: sql<number>`count(*) filter (where ${briefAnnotations.createdInVersion} = ${row.version})::int`,
      resolved: sql<number>`count(*) filter (where ${briefAnnotations.resolvedInVersion} = ${row.version} and ${briefAnnotations.resolvedBy} = 'evolution')::int`,
    })
    .from(briefAnnotations)
    .where(and(eq(briefAnnotations.caseId, row.caseId), eq(briefAnnotations.source, 'brief')));
  return {
    version: row.version,
    grounding: row.grounding,
    sectionsUpdated: sectionsUpdated(previous?.sections, row.sections),
    annotationsCreated: counts?.created ?? 0,
    annotationsResolved: counts?.resolved ?? 0,
  };
}

/**
 * Only the brief's own annotations (source `brief`): a critique's are never touched. An open
 * one whose cause went away is resolved; a cause seen again is re-opened only if the evolution
 * resolved it: one a person resolved stays resolved while its cause (its key) is unchanged.
 */
async function applyAnnotations(tx: Tx, e: Evolution, version: number) {
  const wanted = e.annotations.map((a) => a.causeKey);
  const resolved = await tx
    .update(briefAnnotations)
    .set({ resolvedInVersion: version, resolvedBy: 'evolution', resolvedAt: e.now })
    .where(and(
      eq(briefAnnotations.caseId, e.caseId),
      eq(briefAnnotations.source, 'brief'),
      isNull(briefAnnotations.resolvedBy),
      wanted.length > 0 ? notInArray(briefAnnotations.causeKey, wanted) : undefined,
    ))
    .returning({ id: briefAnnotations.id, kind: briefAnnotations.kind });
  const created = e.annotations.length === 0 ? [] : await tx
    .insert(briefAnnotations)
    .values(e.annotations.map((a) => ({ ...a, caseId: e.caseId, source: 'brief' as const, createdInVersion: version })))
    .onConflictDoUpdate({
      target: [briefAnnotations.caseId, briefAnnotations.source, briefAnnotations.causeKey],
      set: { createdInVersion: version, resolvedInVersion: null, resolvedBy: null, resolvedAt: null, message: sql`excluded.message`, sectionKey: sql`excluded.section_key` },
      setWhere: sql`${briefAnnotations.resolvedBy} = 'evolution'`,
    })
    .returning({ id: briefAnnotations.id, kind: briefAnnotations.kind });
  return { created, resolved };
}

export async function writeEvolution(e: Evolution): Promise<EvolveCaseBriefResult> {
  // The meter's transaction: the calls' usage commits with the version, or alone if it rolls back.
  return e.meter.inTransaction(async (tx) => {
    const [locked] = await tx.select({ id: cases.id }).from(cases).where(eq(cases.id, e.caseId)).for('update');
    if (!locked) throw notFound(`case ${e.caseId}`);
    const written = await writtenEvolution(tx, e.evolutionKey);
    if (written) return written;
    const [previous] = await tx.select().from(briefs).where(eq(briefs.caseId, e.caseId)).orderBy(desc(briefs.version)).limit(1);
    const version = (previous?.version ?? 0) + 1;
    await tx.insert(briefs).values({
      caseId: e.caseId, version, sections: e.sections, grounding: e.grounding, evolutionKey: e.evolutionKey, changes: { ...e.changes }, createdAt: e.now,
    });
    const { created, resolved } = await applyAnnotations(tx, e, version);
    const updated = sectionsUpdated(previous?.sections, e.sections);
    await emitEvent(tx, {
      type: 'BRIEF_EVOLVED',
      userId: e.userId,
      caseId: e.caseId,
      payload: {
        version,
        grounding: e.grounding,
        sectionsUpdated: updated,
        annotationsCreated: { count: created.length, items: created.slice(0, EVENT_ANNOTATION_IDS) },
        annotationsResolved: { count: resolved.length, items: resolved.slice(0, EVENT_ANNOTATION_IDS) },
        changes: e.changes,
      },
      idempotencyKey: briefEvolvedKey(e.caseId, version),
    });
    return { version, grounding: e.grounding, sectionsUpdated: updated, annotationsCreated: created.length, annotationsResolved: resolved.length };
  });
}
