/**
 * The research agent's activities (issue 19): one per phase of its loop (Plan → Search →
 * Extract → Evaluate → Synthesize), the evidence feedback and the handoff summary a continued
 * run starts from. Every phase goes through ./phase.ts (progress, placeholder, trajectory,
 * ledger); the workflow (workflows/research/) decides the order.
 */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { researchFindings } from '../db/schema/index.js';
import type { Llm } from '../llm/llm.js';
import type { Embedder } from '../llm/types.js';
import type { ParsePool } from '../parse/pool.js';
import { createSafeFetcher, type SafeFetcher } from '../web/fetcher.js';
import { loadConfig, RESEARCH_DEFAULTS, type FetchConfig, type ResearchConfig } from '../../workers/config.js';
import { createEvaluateActivity } from './evaluate.js';
import { createExtractActivity } from './extract.js';
import { createFeedbackActivity } from './feedback.js';
import { createPlanActivity } from './plan.js';
import { corpusAvailable, corpusProvider, webProvider, type SearchProvider } from './providers.js';
import { createSearchActivity } from './search.js';
import { createReviewActivities } from './review.js';
import { createSynthesizeActivity } from './synthesize.js';

export interface ResearchDeps {
  db: Db;
  llm: Llm;
  embedder: Embedder;
  config: { research?: ResearchConfig; fetch?: FetchConfig };
  fetcher?: SafeFetcher;
  parsePool: ParsePool;
}

/** The summary a continued run carries: the run's most relevant claims, in words (a rule, not a model call). */
export const HANDOFF_MAX_CHARS = 2_000;
const HANDOFF_FINDINGS = 15;

/** The settings a run uses where its request named none (the config's, or the defaults). */
export type ResearchSettings = Pick<ResearchConfig, 'budgetTokens' | 'maxIterations' | 'stallRounds' | 'contextTokens'>;

export function createResearchActivities(deps: ResearchDeps) {
  const { db } = deps;
  const settings = deps.config.research ?? RESEARCH_DEFAULTS;
  let own: SafeFetcher | undefined;
  const fetcher = () => deps.fetcher ?? (own ??= createSafeFetcher(deps.config.fetch ?? loadConfig({}).fetch));
  const providersFor = async (caseId: string, options: { corpusOnly?: boolean } = {}): Promise<SearchProvider[]> => {
    const providers: SearchProvider[] = [];
    if (await corpusAvailable(db, caseId)) providers.push(corpusProvider(db, deps.embedder, caseId));
    if (settings.searchUrl && !options.corpusOnly) {
      providers.push(webProvider({ searchUrl: settings.searchUrl, timeoutMs: settings.searchTimeoutMs, fetcher, parsePool: deps.parsePool }));
    }
    return providers;
  };

  return {
    ...createPlanActivity(deps),
    ...createSearchActivity({ db, providersFor, resultsPerQuery: settings.resultsPerQuery }),
    ...createExtractActivity(deps),
    ...createEvaluateActivity(deps),
    ...createFeedbackActivity(deps),
    ...createSynthesizeActivity(deps),
    ...createReviewActivities(deps),

    /** The defaults a request did not override (config, read by the worker, never by the workflow). */
    async researchSettings(): Promise<ResearchSettings> {
      const { budgetTokens, maxIterations, stallRounds, contextTokens } = settings;
      return { budgetTokens, maxIterations, stallRounds, contextTokens };
    },

    /** What a run continued as new starts from: the claims found so far, most relevant first, bounded. */
    async researchHandoff(req: { workflowId: string }): Promise<{ summary: string }> {
      const rows = await db.select({ claim: researchFindings.claim }).from(researchFindings)
        .where(eq(researchFindings.workflowId, req.workflowId))
        .orderBy(desc(researchFindings.relevance), researchFindings.id).limit(HANDOFF_FINDINGS);
      const summary = rows.length === 0 ? 'No finding yet.' : `Found so far:\n${rows.map((r) => `- ${r.claim.slice(0, 200)}`).join('\n')}`;
      return { summary: summary.slice(0, HANDOFF_MAX_CHARS) };
    },
  };
}
