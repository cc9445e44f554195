/**
 * The research agent's web provider (issue 19) against a loopback SearXNG-compatible fake: a
 * case with no corpus searches `RESEARCH_SEARCH_URL` (its own client), fetches the result pages
 * through the hardened fetcher (loopback allowlisted for this test only), reads them with the one
 * extractor, and cites them; the page's navigation and footer never reach a source; a result
 * whose page answers 404 costs that page, not the round.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentRun } from '../../activities/agents/start.js';
import { agentRuns, artifacts, artifactVersions, researchSources } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { RESEARCH_AGENT } from '../../workflows/agents/catalog.js';
import { call, startApi, type ApiHarness } from '../api/harness.js';
import { ARTICLE_HTML } from '../fixtures/documents.js';
import { eventually } from '../helpers/chat.js';
import { TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { html, startSite, typed, type Site } from '../helpers/url-site.js';

let h: ApiHarness;
let workers: RunningWorkers;
let site: Site;

beforeAll(async () => {
  h = await startApi({});
  site = await startSite({
    '/article': html(ARTICLE_HTML),
    '/search': (req, res) => {
      const results = [{ url: site.url('/article'), title: 'Choosing ovens' }, { url: site.url('/missing'), title: 'Gone' }];
      typed('application/json', JSON.stringify({ query: new URL(req.url!, site.origin).searchParams.get('q'), results }))(req, res, 0);
    },
  });
  workers = await startTestWorkers({
    env: h.env, db: h.database.db, queues: h.queues, embedder: createLocalEmbedder(TEST_DIMENSIONS), fetch: site.fetchConfig,
    research: { budgetTokens: 200_000, maxIterations: 1, stallRounds: 1, contextTokens: 100_000, resultsPerQuery: 5, searchTimeoutMs: 5_000, searchUrl: site.url('/search') },
  });
});

afterAll(async () => {
  await workers?.stop();
  await site?.close();
  await h?.close();
});

describe('research on the web', () => {
  it('searches the SearXNG-compatible API, reads the result pages through the fetcher and the extractor, and cites them', async () => {
    const caseId = (await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'Ovens' } })).json().id as string;
    const handed = await startAgentRun(
      { db: h.database.db, temporal: h.env.client, queues: h.queues },
      { descriptor: RESEARCH_AGENT, userId: h.alice.id, caseId, topic: 'choosing deck ovens and convection ovens', correlationId: randomUUID() },
    );
    const { workflowId } = handed.row;
    const row = await eventually(
      async () => (await h.database.db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId)))[0],
      (r) => r?.status === 'completed' || r?.status === 'failed',
      60_000,
    );
    expect(row).toMatchObject({ status: 'completed' });
    expect(site.arrivals('/search').length).toBeGreaterThan(0);
    const sources = await h.database.db.select().from(researchSources).where(eq(researchSources.workflowId, workflowId));
    expect(sources.map((s) => ({ kind: s.kind, url: s.url }))).toEqual([{ kind: 'page', url: site.url('/article') }]);
    // The one extractor read the page: its article, not its navigation, footer or script.
    expect(sources[0]!.text).toContain('Deck ovens');
    for (const furniture of ['Quokka', 'narwhal', 'ocelot']) expect(sources[0]!.text).not.toContain(furniture);
    const [artifact] = await h.database.db.select().from(artifacts).where(eq(artifacts.workflowId, workflowId));
    const [version] = await h.database.db.select().from(artifactVersions).where(eq(artifactVersions.artifactId, artifact!.id));
    expect(version!.metadata).toMatchObject({ providers: ['web'] });
    expect(version!.citations.length).toBeGreaterThan(0);
    expect(version!.citations.every((c) => c.sourceId === sources[0]!.id)).toBe(true);
  });
});
