/**
 * Search: every query of the round through every provider available (the case corpus when the
 * case has documents or evidence; the web when `RESEARCH_SEARCH_URL` is set), the hits stored
 * as this run's sources (`research_sources`, keyed by (run, kind, ref): a retry stores nothing
 * twice). A source keeps the round that first found it, so "this round's sources" is a query,
 * and a retried attempt answers the same ids. Text stays in Postgres; ids go back.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { researchSources } from '../db/schema/index.js';
import { activitySignal } from '../events.js';
import { estimateTokens } from '../llm/metering.js';
import { SOURCE_PROMPT_CHARS } from '../llm/purposes/research-extract.js';
import { storable } from '../parse/text.js';
import { runPhase, scopeOf, type PhaseReport, type PhaseRequest } from './phase.js';
import type { SearchHit, SearchProvider } from './providers.js';

/** Sources one round reads at most (one extraction call reads them all). */
export const MAX_SOURCES_PER_ROUND = 12;
const TITLE_MAX_CHARS = 300;

export interface SearchRequest extends PhaseRequest {
  queries: string[];
  /** The case corpus only, never the web (an inquiry answers from the case). */
  corpusOnly?: boolean;
}

export interface SearchResult {
  /** This round's new sources, in the order found. */
  sourceIds: string[];
  /** Providers searched; empty: nothing could be searched. */
  providers: string[];
  /** What went wrong without failing the round (a provider down). */
  notes: string[];
  /** Tokens of the new sources' text as a prompt shows it (the loop's context). */
  contextTokens: number;
}

export interface SearchDeps {
  db: Db;
  /** The providers this case can use (built per request: the corpus needs the case). */
  providersFor: (caseId: string, options?: { corpusOnly?: boolean }) => Promise<SearchProvider[]>;
  resultsPerQuery: number;
}

/** Hits of every query, interleaved (each query's best first), distinct, at most the round's cap. */
function interleave(lists: SearchHit[][]): SearchHit[] {
  const seen = new Set<string>();
  const out: SearchHit[] = [];
  for (let rank = 0; out.length < MAX_SOURCES_PER_ROUND && lists.some((l) => rank < l.length); rank++) {
    for (const list of lists) {
      const hit = list[rank];
      if (!hit || seen.has(`${hit.kind}:${hit.ref}`)) continue;
      seen.add(`${hit.kind}:${hit.ref}`);
      out.push(hit);
      if (out.length >= MAX_SOURCES_PER_ROUND) break;
    }
  }
  return out;
}

export function createSearchActivity(deps: SearchDeps) {
  const { db } = deps;
  return {
    async researchSearch(req: SearchRequest): Promise<SearchResult & PhaseReport> {
      return runPhase(
        db,
        req,
        async (meter) => {
          const providers = await deps.providersFor(req.caseId, { corpusOnly: req.corpusOnly });
          const notes: string[] = [];
          const lists: SearchHit[][] = [];
          for (const query of req.queries) {
            for (const provider of providers) {
              try {
                lists.push(await meter.call((call) => provider.search(query, deps.resultsPerQuery, { signal: activitySignal(), call })));
              } catch (err) {
                if (activitySignal()?.aborted) throw err;
                notes.push(`the ${provider.name} search failed for "${query.slice(0, 100)}": ${err instanceof Error ? err.message : String(err)}`);
              }
            }
          }
          return { hits: interleave(lists), providers: providers.map((p) => p.name), notes };
        },
        async (tx, { hits, providers, notes }) => {
          if (hits.length > 0) {
            await tx.insert(researchSources).values(hits.map((h) => ({
              workflowId: scopeOf(req), caseId: req.caseId, kind: h.kind, ref: h.ref, title: storable(h.title.slice(0, TITLE_MAX_CHARS)),
              url: h.url, query: req.queries.join(' | ').slice(0, 1000), text: storable(h.text), iteration: req.iteration,
            }))).onConflictDoNothing();
          }
          const fresh = hits.length === 0 ? [] : await tx.select({ id: researchSources.id, ref: researchSources.ref, title: researchSources.title, text: researchSources.text })
            .from(researchSources)
            .where(and(eq(researchSources.workflowId, scopeOf(req)), eq(researchSources.iteration, req.iteration),
              inArray(researchSources.ref, hits.map((h) => h.ref))))
            .orderBy(asc(researchSources.id));
          // In the order found (the best of each query first), not the ids' order.
          const order = new Map(hits.map((h, i) => [h.ref, i]));
          fresh.sort((a, b) => (order.get(a.ref) ?? 0) - (order.get(b.ref) ?? 0));
          const contextTokens = fresh.reduce((n, s) => n + estimateTokens(s.text.slice(0, SOURCE_PROMPT_CHARS)), 0);
          const reading = fresh.slice(0, 3).map((s) => s.title).filter(Boolean).join('; ');
          return {
            result: { sourceIds: fresh.map((s) => s.id), providers, notes, contextTokens },
            record: {
              step: 'search',
              content: providers.length === 0
                ? 'Nothing could be searched: the case has no documents or evidence, and no web search is configured'
                : `Round ${req.iteration}: searched ${req.queries.length} quer${req.queries.length === 1 ? 'y' : 'ies'}, found ${fresh.length} new source(s)${reading ? `; reading ${reading}` : ''}`,
              counts: { queries: req.queries.length, sources: fresh.length, providers },
              trajectory: { input: { queries: req.queries, providers }, output: { sources: fresh.length, notes }, sourceIds: fresh.map((s) => s.id) },
            },
          };
        },
      );
    },
  };
}
