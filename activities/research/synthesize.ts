/**
 * Synthesize: the artifact's markdown from the run's grounded findings (every run of the
 * workflow id), cited `[n]`. A citation number the writer was not given is removed from the
 * markdown and counted (`invalidCitations`): the artifact cites only findings, and findings
 * only sources this run read. The artifact (one per workflow id) and its version are written in
 * one transaction with `RESEARCH_COMPLETED`; a retried attempt of the same run finds its
 * version (by the run id in its metadata) instead of adding one.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { artifacts, artifactVersions, researchFindings, researchSources, type ArtifactCitation } from '../db/schema/index.js';
import { currentRun, emitEvent } from '../events.js';
import type { Llm } from '../llm/llm.js';
import { storable } from '../parse/text.js';
import { runPhase, type PhaseReport, type PhaseRequest } from './phase.js';

/** Findings a synthesis reads at most (the most relevant). */
const SYNTHESIS_FINDINGS = 40;

/** Why the loop ended. */
export type StopReason = 'answered' | 'max_iterations' | 'stalled' | 'budget_exhausted' | 'nothing_searched' | 'cancelled';

export interface SynthesizeRequest extends PhaseRequest {
  topic: string;
  questions: string[];
  stopReason: StopReason;
  /** Readable notes for the reader: why it ended, what could not be searched. */
  notes: string[];
  /** Small facts for the metadata: rounds, providers, dropped findings, evidence items. */
  facts: Record<string, unknown>;
}

export interface SynthesizeResult {
  artifactId: string;
  version: number;
  citations: number;
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

/** A run's (or scope's) findings a document is written from, most relevant first, numbered for citation from 1. */
export async function numberedFindings(db: Db, scope: string) {
  const rows = await db
    .select({
      id: researchFindings.id, claim: researchFindings.claim, quote: researchFindings.quote, sourceId: researchFindings.sourceId,
      spanStart: researchFindings.spanStart, spanEnd: researchFindings.spanEnd, relevance: researchFindings.relevance, title: researchSources.title,
    })
    .from(researchFindings)
    .innerJoin(researchSources, eq(researchSources.id, researchFindings.sourceId))
    .where(eq(researchFindings.workflowId, scope))
    .orderBy(desc(researchFindings.relevance), researchFindings.iteration, researchFindings.id)
    .limit(SYNTHESIS_FINDINGS);
  return rows.map((r, i) => ({ ...r, n: i + 1 }));
}

export type NumberedFinding = Awaited<ReturnType<typeof numberedFindings>>[number];

/** The findings as the writer is shown them. */
export const shownFindings = (numbered: NumberedFinding[]) =>
  numbered.map((f) => ({ n: f.n, claim: f.claim, quote: f.quote, sourceTitle: f.title ?? 'untitled', relevance: f.relevance }));

/** The citations a checked markdown keeps, each pointing at its finding's quote and span. */
export function citationsOf(numbered: NumberedFinding[], cited: number[]): ArtifactCitation[] {
  return cited.map((n) => {
    const f = numbered[n - 1]!;
    return { n, findingId: f.id, sourceId: f.sourceId, quote: f.quote, spanStart: f.spanStart, spanEnd: f.spanEnd };
  });
}

export function createSynthesizeActivity({ db, llm }: { db: Db; llm: Pick<Llm, 'synthesizeResearch'> }) {
  return {
    async researchSynthesize(req: SynthesizeRequest): Promise<SynthesizeResult & PhaseReport> {
      const { runId } = currentRun();
      return runPhase(
        db,
        req,
        async (meter) => {
          const numbered = await numberedFindings(db, req.workflowId);
          const synthesis = await meter.call((call) => llm.synthesizeResearch({
            topic: req.topic, questions: req.questions, notes: req.notes,
            findings: shownFindings(numbered),
          }, call));
          return { synthesis, numbered };
        },
        async (tx, { synthesis, numbered }) => {
          const checked = checkCitations(synthesis.markdown, new Set(numbered.map((f) => f.n)));
          const citations = citationsOf(numbered, checked.cited);
          await tx.insert(artifacts).values({ caseId: req.caseId, userId: req.userId, kind: 'research', workflowId: req.workflowId, title: storable(synthesis.title) })
            .onConflictDoNothing();
          const [artifact] = await tx.select().from(artifacts).where(eq(artifacts.workflowId, req.workflowId)).for('update');
          const [mine] = await tx.select({ version: artifactVersions.version }).from(artifactVersions)
            .where(and(eq(artifactVersions.artifactId, artifact!.id), sql`${artifactVersions.metadata}->>'runId' = ${runId ?? ''}`));
          let version = mine?.version;
          if (version === undefined) {
            const [last] = await tx.select({ version: artifactVersions.version }).from(artifactVersions)
              .where(eq(artifactVersions.artifactId, artifact!.id)).orderBy(desc(artifactVersions.version)).limit(1);
            version = (last?.version ?? 0) + 1;
            const metadata = {
              ...req.facts, runId, stopReason: req.stopReason, notes: req.notes, findings: numbered.length, cited: citations.length, invalidCitations: checked.invalid,
            };
            await tx.insert(artifactVersions).values({ artifactId: artifact!.id, version, markdown: storable(checked.markdown), citations, metadata });
            await tx.update(artifacts).set({ title: storable(synthesis.title), updatedAt: sql`now()` }).where(eq(artifacts.id, artifact!.id));
            await emitEvent(tx, {
              type: 'RESEARCH_COMPLETED',
              userId: req.userId,
              caseId: req.caseId,
              payload: { artifactId: artifact!.id, version, stopReason: req.stopReason, findings: numbered.length, citations: citations.length },
              idempotencyKey: `research-completed:${req.workflowId}:${version}`,
            });
          }
          return {
            result: { artifactId: artifact!.id, version, citations: citations.length },
            record: {
              step: 'synthesize',
              content: `Writing the report from ${numbered.length} finding(s)`,
              counts: { findings: numbered.length, citations: citations.length, artifactId: artifact!.id, version },
              trajectory: { input: { findings: numbered.length, stopReason: req.stopReason }, output: { artifactId: artifact!.id, version, citations: citations.length, invalidCitations: checked.invalid } },
            },
          };
        },
      );
    },
  };
}
