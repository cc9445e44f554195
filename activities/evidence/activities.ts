/**
 * ingestEvidence's activities: analyse (score, link, contradictions, record: ./analyse.ts),
 * the cleanup that marks an item failed, and the best-effort tell (./tell.ts). The workflow
 * passes ids; texts and vectors stay in Postgres.
 */
import { createAnalyseActivity, type AnalyseDeps } from './analyse.js';
import { markEvidenceFailed } from './record.js';
import { createTellActivity, type TellDeps } from './tell.js';

export type EvidenceDeps = AnalyseDeps & TellDeps;

export function createEvidenceActivities(deps: EvidenceDeps) {
  return {
    ...createAnalyseActivity(deps),
    ...createTellActivity(deps),

    /** The workflow's cleanup on every failure path: `failed` with the reason (a no-op once completed). */
    async markEvidenceFailed(req: { evidenceId: string; reason: string }) {
      return markEvidenceFailed(deps.db, req.evidenceId, req.reason);
    },
  };
}
