/**
 * Synthesize: the artifact's markdown from the run's grounded findings (every run of the
 * workflow id), cited `[n]`, checked and written through the seam every writing agent shares
 * (./artifact.ts) with `RESEARCH_COMPLETED`.
 */
import type { Db } from '../db/client.js';
import { currentRun } from '../events.js';
import type { Llm } from '../llm/llm.js';
import { citedMarkdown, numberedFindings, writeArtifactVersion } from './artifact.js';
import { runPhase, type PhaseReport, type PhaseRequest } from './phase.js';

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
            findings: numbered.map(({ n, claim, quote, sourceTitle }) => ({ n, claim, quote, sourceTitle })),
          }, call));
          return { synthesis, numbered };
        },
        async (tx, { synthesis, numbered }) => {
          const checked = citedMarkdown(synthesis.markdown, numbered);
          const citations = checked.citations;
          const { artifactId, version } = await writeArtifactVersion(tx, {
            caseId: req.caseId, userId: req.userId, workflowId: req.workflowId, kind: 'research', title: synthesis.title, markdown: checked.markdown, citations, runId,
            metadata: { ...req.facts, stopReason: req.stopReason, notes: req.notes, findings: numbered.length, cited: citations.length, invalidCitations: checked.invalid },
            event: (id, v) => ({
              type: 'RESEARCH_COMPLETED',
              userId: req.userId,
              caseId: req.caseId,
              payload: { artifactId: id, version: v, stopReason: req.stopReason, findings: numbered.length, citations: citations.length },
              idempotencyKey: `research-completed:${req.workflowId}:${v}`,
            }),
          });
          return {
            result: { artifactId, version, citations: citations.length },
            record: {
              step: 'synthesize',
              content: `Writing the report from ${numbered.length} finding(s)`,
              counts: { findings: numbered.length, citations: citations.length, artifactId, version },
              trajectory: { input: { findings: numbered.length, stopReason: req.stopReason }, output: { artifactId, version, citations: citations.length, invalidCitations: checked.invalid } },
            },
          };
        },
      );
    },
  };
}
