/**
 * Evaluate: which of the round's findings are new against the run's earlier ones (every run of
 * the workflow id: a continued run reads them from the table, not from its input), whether to
 * go on, and what to search next.
 */
import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { researchFindings } from '../db/schema/index.js';
import type { Llm } from '../llm/llm.js';
import { runPhase, type PhaseReport, type PhaseRequest } from './phase.js';

/** Earlier findings an evaluation compares with, at most (the most relevant). */
const EARLIER_MAX = 100;

export interface EvaluateRequest extends PhaseRequest {
  topic: string;
  questions: string[];
  findingIds: string[];
  /** Every query searched so far. */
  searched: string[];
}

export interface EvaluateResult {
  /** How many of the round's findings are new. */
  novel: number;
  goOn: boolean;
  nextQueries: string[];
}

export function createEvaluateActivity({ db, llm }: { db: Db; llm: Pick<Llm, 'evaluateResearch'> }) {
  return {
    async researchEvaluate(req: EvaluateRequest): Promise<EvaluateResult & PhaseReport> {
      return runPhase(
        db,
        req,
        async (meter) => {
          const [fresh, earlier] = await Promise.all([
            req.findingIds.length === 0 ? [] : db.select({ id: researchFindings.id, claim: researchFindings.claim }).from(researchFindings)
              .where(and(eq(researchFindings.workflowId, req.workflowId), inArray(researchFindings.id, req.findingIds))),
            db.select({ claim: researchFindings.claim }).from(researchFindings)
              .where(and(eq(researchFindings.workflowId, req.workflowId), lt(researchFindings.iteration, req.iteration)))
              .orderBy(asc(researchFindings.iteration), asc(researchFindings.id)).limit(EARLIER_MAX),
          ]);
          const ordered = req.findingIds.map((id) => fresh.find((f) => f.id === id)?.claim).filter((c) => c !== undefined);
          return meter.call((call) => llm.evaluateResearch({
            topic: req.topic, questions: req.questions, fresh: ordered, earlier: earlier.map((e) => e.claim), searched: req.searched,
          }, call));
        },
        async (_tx, evaluation) => ({
          result: { novel: evaluation.novel.length, goOn: evaluation.goOn, nextQueries: evaluation.nextQueries },
          record: {
            step: 'evaluate',
            content: `Round ${req.iteration}: ${evaluation.novel.length} new finding(s)${evaluation.goOn ? `; next: ${evaluation.nextQueries.slice(0, 2).join('; ')}` : ''}`,
            counts: { novel: evaluation.novel.length, goOn: evaluation.goOn },
            trajectory: { input: { findings: req.findingIds.length, searched: req.searched.length }, output: { ...evaluation } },
          },
        }),
      );
    },
  };
}
