/**
 * What agents leave behind (issue 19): a case's artifacts (newest first, paged), one artifact
 * with its versions (markdown, citations, metadata) and each cited source with the span the
 * quote came from; a research run's trajectory; a case's agent runs (running first). The
 * caller's only: another user's case, artifact or run is a 404.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { agentRuns, artifacts, artifactVersions, researchSources, researchSteps } from '../../activities/db/schema/index.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { notFound } from '../errors.js';
import { limited, pageOf, pageQuery, pageSchema, readPage, timeIdKeyset, type PageQuery } from '../pagination.js';
import { caseParams } from './case-schemas.js';
import { uuid, withErrors } from './chat-schemas.js';
import { workflowParams } from './workflows.js';

const tags = ['agents'];
const artifactKeyset = timeIdKeyset('artifacts', artifacts.createdAt, artifacts.id, 'newest-first');
/** Characters of a source shown around nothing: the cited span itself, whole up to this. */
const SPAN_MAX_CHARS = 2_000;
/** Agent runs a case lists (the newest; running first). */
const AGENT_RUNS_MAX = 100;

const artifactSummary = {
  type: 'object',
  properties: {
    id: uuid, caseId: uuid, kind: { type: 'string' }, title: { type: 'string' }, workflowId: { type: 'string' },
    latestVersion: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'caseId', 'kind', 'title', 'workflowId', 'latestVersion', 'createdAt', 'updatedAt'],
} as const;

const citation = {
  type: 'object',
  properties: {
    n: { type: 'integer' },
    findingId: uuid,
    quote: { type: 'string' },
    source: {
      type: 'object',
      properties: {
        id: uuid, kind: { type: 'string' }, ref: { type: 'string' }, title: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        url: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        span: { type: 'object', properties: { start: { type: 'integer' }, end: { type: 'integer' }, text: { type: 'string' } }, required: ['start', 'end', 'text'] },
      },
      required: ['id', 'kind', 'ref', 'title', 'url', 'span'],
    },
  },
  required: ['n', 'findingId', 'quote', 'source'],
} as const;

const artifactSchema = {
  type: 'object',
  properties: {
    ...artifactSummary.properties,
    versions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          version: { type: 'integer' }, markdown: { type: 'string' }, citations: { type: 'array', items: citation },
          metadata: { type: 'object', additionalProperties: true }, createdAt: { type: 'string', format: 'date-time' },
        },
        required: ['version', 'markdown', 'citations', 'metadata', 'createdAt'],
      },
    },
  },
  required: [...artifactSummary.required, 'versions'],
} as const;

const stepSchema = {
  type: 'object',
  properties: {
    phase: { type: 'string' }, iteration: { type: 'integer' }, input: { type: 'object', additionalProperties: true }, output: { type: 'object', additionalProperties: true },
    sourceIds: { type: 'array', items: { type: 'string' } }, tokens: { type: 'integer' }, latencyMs: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' },
  },
  required: ['phase', 'iteration', 'input', 'output', 'sourceIds', 'tokens', 'latencyMs', 'createdAt'],
} as const;

const agentRunSchema = {
  type: 'object',
  properties: {
    workflowId: { type: 'string' }, type: { type: 'string' }, status: { type: 'string' }, threadId: uuid,
    placeholderMessageId: { anyOf: [uuid, { type: 'null' }] }, error: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['workflowId', 'type', 'status', 'threadId', 'placeholderMessageId', 'error', 'createdAt', 'updatedAt'],
} as const;

const artifactParams = { type: 'object', properties: { artifactId: uuid }, required: ['artifactId'], additionalProperties: false } as const;

/** Written out: drizzle renders a column unqualified, so inside the subquery `id` would be the version's own. */
const latestVersion = sql<number>`coalesce((select max(av.version) from artifact_versions av where av.artifact_id = "artifacts"."id"), 0)::int`;

export async function artifactRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;

  app.get<{ Params: { caseId: string }; Querystring: PageQuery }>(
    '/v1/cases/:caseId/artifacts',
    { schema: { tags, params: caseParams, querystring: pageQuery, response: withErrors({ 200: pageSchema('artifacts', artifactSummary) }) } },
    async (request) => {
      const { caseId } = request.params;
      await findOwnCase(db, request.user.id, caseId);
      const page = readPage(artifactKeyset, request.query);
      const query = db
        .select({
          id: artifacts.id, caseId: artifacts.caseId, kind: artifacts.kind, title: artifacts.title, workflowId: artifacts.workflowId,
          latestVersion, createdAt: artifacts.createdAt, updatedAt: artifacts.updatedAt, cursorKey: artifactKeyset.key,
        })
        .from(artifacts)
        .where(and(eq(artifacts.caseId, caseId), page.after))
        .orderBy(...artifactKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(artifactKeyset, page, await limited(query, page));
      return { artifacts: rows.map(({ cursorKey: _key, ...row }) => row), nextAfter };
    },
  );

  app.get<{ Params: { artifactId: string } }>(
    '/v1/artifacts/:artifactId',
    { schema: { tags, params: artifactParams, response: withErrors({ 200: artifactSchema }) } },
    async (request) => {
      const [artifact] = await db.select({ id: artifacts.id, caseId: artifacts.caseId, kind: artifacts.kind, title: artifacts.title, workflowId: artifacts.workflowId, createdAt: artifacts.createdAt, updatedAt: artifacts.updatedAt, latestVersion })
        .from(artifacts).where(and(eq(artifacts.id, request.params.artifactId), eq(artifacts.userId, request.user.id)));
      if (!artifact) throw notFound('artifact');
      const versions = await db.select().from(artifactVersions).where(eq(artifactVersions.artifactId, artifact.id)).orderBy(desc(artifactVersions.version));
      const sourceIds = [...new Set(versions.flatMap((v) => v.citations.map((c) => c.sourceId)))];
      // The sources of this artifact's run only: a citation resolves to what that run read.
      const sources = sourceIds.length === 0 ? [] : await db.select().from(researchSources)
        .where(and(inArray(researchSources.id, sourceIds), eq(researchSources.workflowId, artifact.workflowId)));
      const byId = new Map(sources.map((s) => [s.id, s]));
      return {
        ...artifact,
        versions: versions.map((v) => ({
          version: v.version, markdown: v.markdown, metadata: v.metadata, createdAt: v.createdAt,
          citations: v.citations.flatMap((c) => {
            const s = byId.get(c.sourceId);
            if (!s) return [];
            const span = { start: c.spanStart, end: c.spanEnd, text: s.text.slice(c.spanStart, Math.min(c.spanEnd, c.spanStart + SPAN_MAX_CHARS)) };
            return [{ n: c.n, findingId: c.findingId, quote: c.quote, source: { id: s.id, kind: s.kind, ref: s.ref, title: s.title, url: s.url, span } }];
          }),
        })),
      };
    },
  );

  app.get<{ Params: { workflowId: string } }>(
    '/v1/workflows/:workflowId/trajectory',
    { schema: { tags, params: workflowParams, response: withErrors({ 200: { type: 'object', properties: { workflowId: { type: 'string' }, steps: { type: 'array', items: stepSchema } }, required: ['workflowId', 'steps'] } }) } },
    async (request) => {
      const { workflowId } = request.params;
      // An agent run of the caller's (its row says whose): anything else is a 404.
      const [run] = await db.select({ id: agentRuns.id }).from(agentRuns).where(and(eq(agentRuns.workflowId, workflowId), eq(agentRuns.userId, request.user.id)));
      if (!run) throw notFound('agent run');
      const steps = await db.select().from(researchSteps).where(eq(researchSteps.workflowId, workflowId))
        .orderBy(asc(researchSteps.iteration), asc(researchSteps.createdAt), asc(researchSteps.id));
      return { workflowId, steps: steps.map(({ id: _id, workflowId: _w, ...step }) => step) };
    },
  );

  app.get<{ Params: { caseId: string } }>(
    '/v1/cases/:caseId/agents',
    { schema: { tags, params: caseParams, response: withErrors({ 200: { type: 'object', properties: { runs: { type: 'array', items: agentRunSchema } }, required: ['runs'] } }) } },
    async (request) => {
      const { caseId } = request.params;
      await findOwnCase(db, request.user.id, caseId);
      const runs = await db.select().from(agentRuns).where(eq(agentRuns.caseId, caseId)).orderBy(desc(agentRuns.createdAt), desc(agentRuns.id)).limit(AGENT_RUNS_MAX);
      const open = (s: string) => (s === 'running' || s === 'pending' ? 0 : 1);
      return {
        runs: runs
          .sort((a, b) => open(a.status) - open(b.status))
          .map((r) => ({ workflowId: r.workflowId, type: r.type, status: r.status, threadId: r.threadId, placeholderMessageId: r.placeholderMessageId, error: r.error, createdAt: r.createdAt, updatedAt: r.updatedAt })),
      };
    },
  );
}
