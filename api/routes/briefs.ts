/**
 * A case's brief: `GET /v1/cases/:caseId/brief` (the latest version, or `?version=N`; version
 * 0 is the empty brief before any evolution) and a person resolving one of its annotations
 * (`POST …/brief/annotations/:annotationId/resolve`, idempotent: a later evolution never
 * re-opens it while its cause is unchanged). A foreign or unknown id is the same 404.
 */
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../app.js';
import { readBrief, resolveByPerson } from '../brief-store.js';
import { findOwnCase } from '../case-store.js';
import { badRequest, notFound } from '../errors.js';
import { annotationJson, annotationParams, annotationSchema, briefJson, briefParams, briefQuery, briefSchema, MAX_VERSION } from './brief-schemas.js';
import { withErrors } from './chat-schemas.js';

export async function briefRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['cases'];

  app.get<{ Params: { caseId: string }; Querystring: { version?: string } }>(
    '/v1/cases/:caseId/brief',
    { schema: { tags, params: briefParams, querystring: briefQuery, response: withErrors({ 200: briefSchema }) } },
    async (request) => {
      const version = request.query.version === undefined ? undefined : Number(request.query.version);
      if (version !== undefined && version > MAX_VERSION) throw badRequest('version', `must be at most ${MAX_VERSION}`);
      const owned = await findOwnCase(db, request.user.id, request.params.caseId);
      const brief = await readBrief(db, owned.title, owned.id, version);
      if (!brief) throw notFound(`brief version ${version}`);
      return briefJson(owned.id, brief);
    },
  );

  app.post<{ Params: { caseId: string; annotationId: string } }>(
    '/v1/cases/:caseId/brief/annotations/:annotationId/resolve',
    { schema: { tags, params: annotationParams, response: withErrors({ 200: annotationSchema }) } },
    async (request) => {
      const owned = await findOwnCase(db, request.user.id, request.params.caseId);
      const annotation = await resolveByPerson(db, owned.id, request.params.annotationId, new Date());
      if (!annotation) throw notFound('annotation');
      return annotationJson(annotation);
    },
  );
}
