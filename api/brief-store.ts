/**
 * The brief as the gateway reads it: a version of a case's brief (the latest, or an earlier
 * one) with the annotations as they stood at that version, the summary a case shows, and a
 * person resolving an annotation. Version 0 is the empty brief every case has before its
 * first evolution.
 */
import { and, desc, eq, isNull, lte, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { briefAnnotations, briefs, type BriefAnnotationRow, type BriefSection } from '../activities/db/schema/index.js';
import { composeBrief, SECTION_TITLES } from '../activities/briefs/compose.js';
import { briefProseLocally } from '../activities/llm/purposes/brief.js';

/** Annotations a brief answers with: the open ones first, then the most recently resolved. */
export const BRIEF_ANNOTATIONS_SHOWN = 200;

export interface BriefVersion {
  version: number;
  sections: BriefSection[];
  grounding: number;
  changes: Record<string, unknown> | null;
  createdAt: Date | null;
  annotations: BriefAnnotationRow[];
}

export interface BriefSummary {
  version: number;
  grounding: number;
  updatedAt: Date;
  openAnnotations: number;
}

/** What an evolution of a case with no rows writes: every section, empty. */
function emptySections(title: string): BriefSection[] {
  const composed = composeBrief({ caseId: '', userId: '', title, description: null, signals: [], evidence: [], links: [], contradictions: [] });
  const prose = briefProseLocally({ title, description: null, sections: composed.sections, grounding: 0 });
  return composed.sections.map((s) => ({ key: s.key, title: SECTION_TITLES[s.key], text: prose[s.key], items: [], grounding: 0 }));
}

async function latestVersion(db: Db, caseId: string): Promise<number> {
  const [row] = await db.select({ version: briefs.version }).from(briefs).where(eq(briefs.caseId, caseId)).orderBy(desc(briefs.version)).limit(1);
  return row?.version ?? 0;
}

/** Annotations as they stood at `version`: created by then; resolved only if resolved by then. */
async function annotationsAt(db: Db, caseId: string, version: number): Promise<BriefAnnotationRow[]> {
  const rows = await db
    .select()
    .from(briefAnnotations)
    .where(and(eq(briefAnnotations.caseId, caseId), lte(briefAnnotations.createdInVersion, version)))
    .orderBy(sql`(${briefAnnotations.resolvedInVersion} is not null and ${briefAnnotations.resolvedInVersion} <= ${version})`, desc(briefAnnotations.resolvedAt), desc(briefAnnotations.createdAt), briefAnnotations.id)
    .limit(BRIEF_ANNOTATIONS_SHOWN);
  return rows.map((r) =>
    r.resolvedInVersion !== null && r.resolvedInVersion > version ? { ...r, resolvedInVersion: null, resolvedBy: null, resolvedAt: null } : r,
  );
}

/** The version asked for (absent: the latest), or undefined when the case has no such version. */
export async function readBrief(db: Db, caseTitle: string, caseId: string, asked?: number): Promise<BriefVersion | undefined> {
  const version = asked ?? (await latestVersion(db, caseId));
  if (version === 0) {
    return { version: 0, sections: emptySections(caseTitle), grounding: 0, changes: null, createdAt: null, annotations: await annotationsAt(db, caseId, 0) };
  }
  const [row] = await db.select().from(briefs).where(and(eq(briefs.caseId, caseId), eq(briefs.version, version)));
  if (!row) return undefined;
  return { version, sections: row.sections, grounding: row.grounding, changes: row.changes, createdAt: row.createdAt, annotations: await annotationsAt(db, caseId, version) };
}

export async function briefSummary(db: Db, caseId: string): Promise<BriefSummary | null> {
  const [row] = await db
    .select({
      version: briefs.version,
      grounding: briefs.grounding,
      updatedAt: briefs.createdAt,
      // Qualified by hand: drizzle renders a column of a one-table select bare (see case-store.ts).
      openAnnotations: sql<number>`(select count(*)::int from ${briefAnnotations} where ${briefAnnotations}.case_id = ${briefs}.case_id and ${briefAnnotations}.resolved_at is null)`,
    })
    .from(briefs)
    .where(eq(briefs.caseId, caseId))
    .orderBy(desc(briefs.version))
    .limit(1);
  return row ?? null;
}

/**
 * A person resolves an annotation of the case: at the latest version, once (repeating it
 * answers the annotation as it is). Undefined when the case has no such annotation.
 */
export async function resolveByPerson(db: Db, caseId: string, annotationId: string, now: Date): Promise<BriefAnnotationRow | undefined> {
  const ofCase = and(eq(briefAnnotations.id, annotationId), eq(briefAnnotations.caseId, caseId));
  const [resolved] = await db
    .update(briefAnnotations)
    .set({
      resolvedBy: 'person',
      resolvedAt: now,
      resolvedInVersion: sql`greatest(${briefAnnotations.createdInVersion}, (select coalesce(max(${briefs}.version), 0) from ${briefs} where ${briefs}.case_id = ${caseId}))`,
    })
    .where(and(ofCase, isNull(briefAnnotations.resolvedAt)))
    .returning();
  if (resolved) return resolved;
  const [existing] = await db.select().from(briefAnnotations).where(ofCase);
  return existing;
}
