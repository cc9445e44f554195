/**
 * What every agent that writes an artifact shares (research's synthesis, the critique, the
 * brief): the run's grounded findings numbered for citing (every run of the workflow id, the
 * most relevant first), the citation check (a number the writer was not given is removed and
 * counted: the artifact cites only findings, and findings only sources this run read), and the
 * write of the artifact (one per workflow id) and its version with the agent's completion
 * event, in the caller's transaction. A retried attempt of the same run finds its version (by
 * the run id in its metadata) instead of adding one.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { artifacts, artifactVersions, researchFindings, researchSources, type ArtifactCitation, type ArtifactKind } from '../db/schema/index.js';
import { emitEvent, type EventInput, type Tx } from '../events.js';
import type { SynthesisFinding } from '../llm/llm.js';
import { storable } from '../parse/text.js';

/** Findings a writer reads at most (the most relevant). */
export const ARTIFACT_FINDINGS = 40;

export interface NumberedFinding extends SynthesisFinding {
  id: string;
  sourceId: string;
  spanStart: number;
  spanEnd: number;
}

/** `workflowId`: the run's, or the scope its findings are stored under (an inquiry's version: `PhaseRequest.scope`). */
export async function numberedFindings(db: Db, workflowId: string): Promise<NumberedFinding[]> {
  const rows = await db
    .select({
      id: researchFindings.id, claim: researchFindings.claim, quote: researchFindings.quote, sourceId: researchFindings.sourceId,
      spanStart: researchFindings.spanStart, spanEnd: researchFindings.spanEnd, relevance: researchFindings.relevance, title: researchSources.title,
    })
    .from(researchFindings)
    .innerJoin(researchSources, eq(researchSources.id, researchFindings.sourceId))
    .where(eq(researchFindings.workflowId, workflowId))
    .orderBy(desc(researchFindings.relevance), researchFindings.iteration, researchFindings.id)
    .limit(ARTIFACT_FINDINGS);
  return rows.map(({ title, ...r }, i) => ({ ...r, sourceTitle: title ?? 'untitled', n: i + 1 }));
}

/** Every `[n]` in the markdown; the ones not in `known` are removed. */
export function checkCitations(markdown: string, known: Set<number>): { markdown: string; cited: number[]; invalid: number } {
  const cited = new Set<number>();
  let invalid = 0;
  const cleaned = markdown.replace(/\[(\d{1,4})\]/g, (whole, digits: string) => {
    const n = Number(digits);
    if (known.has(n)) {
      cited.add(n);
      return whole;
    }
    invalid++;
    return '';
  });
  return { markdown: cleaned, cited: [...cited].sort((a, b) => a - b), invalid };
}

/** The markdown with only citations of the numbered findings, and those citations with their quotes and spans. */
export function citedMarkdown(markdown: string, numbered: NumberedFinding[]) {
  const checked = checkCitations(markdown, new Set(numbered.map((f) => f.n)));
  const citations: ArtifactCitation[] = checked.cited.map((n) => {
    const f = numbered[n - 1]!;
    return { n, findingId: f.id, sourceId: f.sourceId, quote: f.quote, spanStart: f.spanStart, spanEnd: f.spanEnd };
  });
  return { markdown: checked.markdown, citations, invalid: checked.invalid };
}

export interface ArtifactWrite {
  caseId: string;
  userId: string;
  workflowId: string;
  kind: ArtifactKind;
  title: string;
  markdown: string;
  citations: ArtifactCitation[];
  metadata: Record<string, unknown>;
  runId: string | null;
  /** The completion event of the version, once (its key names the workflow id and version). */
  event: (artifactId: string, version: number) => EventInput;
}

/** The artifact and this run's version of it; `created` is false when a retried attempt found it written. */
export async function writeArtifactVersion(tx: Tx, w: ArtifactWrite): Promise<{ artifactId: string; version: number; created: boolean }> {
  await tx.insert(artifacts).values({ caseId: w.caseId, userId: w.userId, kind: w.kind, workflowId: w.workflowId, title: storable(w.title) })
    .onConflictDoNothing();
  const [artifact] = await tx.select().from(artifacts).where(eq(artifacts.workflowId, w.workflowId)).for('update');
  const [mine] = await tx.select({ version: artifactVersions.version }).from(artifactVersions)
    .where(and(eq(artifactVersions.artifactId, artifact!.id), sql`${artifactVersions.metadata}->>'runId' = ${w.runId ?? ''}`));
  if (mine) return { artifactId: artifact!.id, version: mine.version, created: false };
  const [last] = await tx.select({ version: artifactVersions.version }).from(artifactVersions)
    .where(eq(artifactVersions.artifactId, artifact!.id)).orderBy(desc(artifactVersions.version)).limit(1);
  const version = (last?.version ?? 0) + 1;
  await tx.insert(artifactVersions).values({ artifactId: artifact!.id, version, markdown: storable(w.markdown), citations: w.citations, metadata: { ...w.metadata, runId: w.runId } });
  await tx.update(artifacts).set({ title: storable(w.title), updatedAt: sql`now()` }).where(eq(artifacts.id, artifact!.id));
  await emitEvent(tx, w.event(artifact!.id, version));
  return { artifactId: artifact!.id, version, created: true };
}
