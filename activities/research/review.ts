/**
 * The critique and brief agents' own phases (issue 20); everything before them is research's
 * loop (Plan → Search → Extract → Evaluate) over the case, so their citations are findings
 * that passed the same grounding gate. Each reads the case as its brief composes it
 * (activities/briefs/compose.ts), asks its purpose for the markdown, and writes the artifact
 * through the shared seam (./artifact.ts) with its completion event; the critique also writes
 * its annotations on the brief (activities/briefs/critique.ts) in the same transaction.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { cases } from '../db/schema/index.js';
import { composeBrief, type ComposedBrief } from '../briefs/compose.js';
import { applyCritique, critiqueIssuesOf } from '../briefs/critique.js';
import { readBriefRows } from '../briefs/rows.js';
import { notFound } from '../errors.js';
import { currentRun } from '../events.js';
import type { Llm, ReportSection } from '../llm/llm.js';
import { citedMarkdown, numberedFindings, writeArtifactVersion } from './artifact.js';
import { runPhase, type PhaseReport, type PhaseRequest } from './phase.js';
import type { StopReason } from './synthesize.js';
import type { AttemptMeter } from '../usage.js';

export interface ReviewRequest extends PhaseRequest {
  topic: string;
  stopReason: StopReason;
  notes: string[];
  facts: Record<string, unknown>;
}

export interface ReviewResult {
  artifactId: string;
  version: number;
  citations: number;
  /** The critique's issues found (0 for a brief). */
  issues: number;
}

const sectionsOf = (brief: ComposedBrief): ReportSection[] => brief.sections.map((s) => ({ title: s.title, items: s.items.map((i) => i.text) }));

export function createReviewActivities({ db, llm }: { db: Db; llm: Pick<Llm, 'writeCritique' | 'draftBrief'> }) {
  /** The case and the findings a writer reads, and what it wrote (the model call metered). */
  const draft = (req: ReviewRequest, kind: 'critique' | 'brief') => async (meter: AttemptMeter) => {
    const rows = await readBriefRows(db, req.caseId);
    const brief = composeBrief(rows);
    const issues = kind === 'critique' ? critiqueIssuesOf(brief) : [];
    const numbered = await numberedFindings(db, req.workflowId);
    const input = {
      topic: req.topic, caseTitle: rows.title, sections: sectionsOf(brief), notes: req.notes,
      issues: issues.map((i) => ({ kind: i.kind, message: i.message })),
      findings: numbered.map(({ n, claim, quote, sourceTitle }) => ({ n, claim, quote, sourceTitle })),
    };
    const report = await meter.call((call) => (kind === 'critique' ? llm.writeCritique(input, call) : llm.draftBrief(input, call)));
    return { report, numbered, issues };
  };

  return {
    /** The topic a critique or brief run is about: the one asked for, or the case's title. */
    async agentTopic(req: { caseId: string; topic?: string }): Promise<{ topic: string }> {
      if (req.topic?.trim()) return { topic: req.topic };
      const [found] = await db.select({ title: cases.title }).from(cases).where(eq(cases.id, req.caseId));
      if (!found) throw notFound(`case ${req.caseId}`);
      return { topic: found.title };
    },

    async critiqueWrite(req: ReviewRequest): Promise<ReviewResult & PhaseReport> {
      const { runId } = currentRun();
      return runPhase(db, req, draft(req, 'critique'), async (tx, { report, numbered, issues }) => {
        const checked = citedMarkdown(report.markdown, numbered);
        const annotations = await applyCritique(tx, req.caseId, issues, new Date());
        const { artifactId, version } = await writeArtifactVersion(tx, {
          caseId: req.caseId, userId: req.userId, workflowId: req.workflowId, kind: 'critique', title: report.title, markdown: checked.markdown,
          citations: checked.citations, runId,
          metadata: { ...req.facts, stopReason: req.stopReason, notes: req.notes, findings: numbered.length, cited: checked.citations.length, invalidCitations: checked.invalid, issues: issues.length, annotations },
          event: (id, v) => ({
            type: 'CRITIQUE_COMPLETED', userId: req.userId, caseId: req.caseId,
            payload: { workflowId: req.workflowId, artifactId: id, version: v, issues: issues.length, citations: checked.citations.length, annotations },
            idempotencyKey: `critique-completed:${req.workflowId}:${v}`,
          }),
        });
        return {
          result: { artifactId, version, citations: checked.citations.length, issues: issues.length },
          record: {
            step: 'critique',
            content: `Writing the critique: ${issues.length} issue(s), ${numbered.length} finding(s)`,
            counts: { issues: issues.length, findings: numbered.length, citations: checked.citations.length, artifactId, version, ...annotations },
            trajectory: { input: { findings: numbered.length, issues: issues.length }, output: { artifactId, version, citations: checked.citations.length, invalidCitations: checked.invalid, ...annotations } },
          },
        };
      });
    },

    async briefWrite(req: ReviewRequest): Promise<ReviewResult & PhaseReport> {
      const { runId } = currentRun();
      return runPhase(db, req, draft(req, 'brief'), async (tx, { report, numbered }) => {
        const checked = citedMarkdown(report.markdown, numbered);
        const { artifactId, version } = await writeArtifactVersion(tx, {
          caseId: req.caseId, userId: req.userId, workflowId: req.workflowId, kind: 'brief', title: report.title, markdown: checked.markdown,
          citations: checked.citations, runId,
          metadata: { ...req.facts, stopReason: req.stopReason, notes: req.notes, findings: numbered.length, cited: checked.citations.length, invalidCitations: checked.invalid },
          event: (id, v) => ({
            type: 'BRIEF_DRAFTED', userId: req.userId, caseId: req.caseId,
            payload: { workflowId: req.workflowId, artifactId: id, version: v, citations: checked.citations.length },
            idempotencyKey: `brief-drafted:${req.workflowId}:${v}`,
          }),
        });
        return {
          result: { artifactId, version, citations: checked.citations.length, issues: 0 },
          record: {
            step: 'brief',
            content: `Writing the brief from ${numbered.length} finding(s)`,
            counts: { findings: numbered.length, citations: checked.citations.length, artifactId, version },
            trajectory: { input: { findings: numbered.length }, output: { artifactId, version, citations: checked.citations.length, invalidCitations: checked.invalid } },
          },
        };
      });
    },
  };
}
