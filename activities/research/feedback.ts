/**
 * Evidence feedback: the run's grounded findings with relevance ≥ 0.6 become evidence of the
 * case through the one evidence store (source `research`, the quote as its text: the words a
 * source holds, not a model's paraphrase; the source's URL and title), and go back to the
 * workflow as ids, which starts their `ingestEvidence` runs as children that outlive it (the
 * document pipeline's path). A finding quoting a piece of the case's evidence is that item
 * already. The (case, text hash) key makes a retry store nothing twice.
 */
import { and, desc, eq, gte, ne } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { researchFindings, researchSources } from '../db/schema/index.js';
import { storeEvidence } from '../evidence/store.js';
import { runPhase, type PhaseReport, type PhaseRequest } from './phase.js';

/** A finding at least this relevant becomes evidence (the seed's 0.6). */
export const EVIDENCE_MIN_RELEVANCE = 0.6;
/** Items one run adds at most: each is an ingestion run and model calls. */
export const EVIDENCE_MAX_PER_RUN = 20;

export interface FeedbackItem {
  evidenceId: string;
  contentHash: string;
  /** The item waits for a run (new, failed before, or left pending): start it. */
  start: boolean;
}

export function createFeedbackActivity({ db }: { db: Db }) {
  return {
    async researchEvidence(req: PhaseRequest): Promise<{ items: FeedbackItem[] } & PhaseReport> {
      return runPhase(
        db,
        req,
        async () => undefined,
        async (tx) => {
          const findings = await tx
            .select({ id: researchFindings.id, quote: researchFindings.quote, url: researchSources.url, title: researchSources.title })
            .from(researchFindings)
            .innerJoin(researchSources, eq(researchSources.id, researchFindings.sourceId))
            .where(and(eq(researchFindings.workflowId, req.workflowId), gte(researchFindings.relevance, EVIDENCE_MIN_RELEVANCE), ne(researchSources.kind, 'evidence')))
            .orderBy(desc(researchFindings.relevance), researchFindings.id)
            .limit(EVIDENCE_MAX_PER_RUN);
          const items: FeedbackItem[] = [];
          for (const f of findings) {
            const { evidence: item } = await storeEvidence(tx, {
              caseId: req.caseId, userId: req.userId, text: f.quote, source: 'research', sourceUrl: f.url, sourceTitle: f.title,
            });
            await tx.update(researchFindings).set({ evidenceId: item.id }).where(eq(researchFindings.id, f.id));
            if (!items.some((i) => i.evidenceId === item.id)) items.push({ evidenceId: item.id, contentHash: item.contentHash, start: item.status === 'pending' });
          }
          return {
            result: { items },
            record: {
              step: 'evidence',
              content: `Adding ${items.length} finding(s) to the case's evidence`,
              counts: { items: items.length },
              trajectory: { input: { minRelevance: EVIDENCE_MIN_RELEVANCE }, output: { items: items.map((i) => i.evidenceId) } },
            },
          };
        },
      );
    },
  };
}
