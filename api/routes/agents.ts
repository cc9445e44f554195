/**
 * `POST /v1/cases/:caseId/agents/:agentType`: starts an agent of the static catalog
 * (Decision 15) on a case of the caller, by workflow type name on the agent's queue. A
 * deprecated alias runs the real type and logs the new name; a removed name is a 410 with
 * its pointer (Decision 6); an unknown one a 404 naming the known types.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AGENT_CATALOG, lookupAgent, STRUCTURE_AGENT_TYPE, suggestableAgents, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { workflowIds, type AgentDispatchInput } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { errorBodySchema, HttpError, namedPattern, temporalCall } from '../errors.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { uuid, withErrors } from './chat-schemas.js';
import { findOwnThread } from './threads.js';

const params = {
  type: 'object',
  properties: {
    caseId: uuid,
    // Underscores too: the seed's names (`generate_research_artifact`) are still accepted as aliases.
    agentType: { type: 'string', minLength: 1, maxLength: 64, ...namedPattern('^[A-Za-z][A-Za-z0-9_-]*$', 'is not an agent type name') },
  },
  required: ['caseId', 'agentType'],
  additionalProperties: false,
} as const;

/** What every agent takes today; an agent that needs more gets its input shape in the catalog (Decision 15). */
const body = {
  type: 'object',
  properties: {
    focus: { type: 'string', minLength: 1, maxLength: 2_000, description: 'what the agent should look at' },
    threadId: { ...uuid, description: 'a thread of the case where the agent posts; absent: the case\'s activity thread' },
    budgetTokens: { type: 'integer', minimum: 1, maximum: 10_000_000, description: 'LLM tokens the run may spend' },
  },
  additionalProperties: false,
} as const;

interface AgentInput {
  focus?: string;
  threadId?: string;
  budgetTokens?: number;
}

const accepted = {
  type: 'object',
  properties: { workflowId: { type: 'string' }, correlationId: { type: 'string' } },
  required: ['workflowId', 'correlationId'],
} as const;

/** Decision 21: research keeps its own prefix; every other agent is `agent-<type>-…`. */
function agentWorkflowId(type: string, caseId: string, correlationId: string): string {
  return type === 'research' ? `research-${caseId}-${correlationId}` : workflowIds.agent(type, `${caseId}-${correlationId}`);
}

/** The agent a name starts, or the 410 / 404 that answers it. The case draft starts from a thread, not here. */
function resolve(request: FastifyRequest, name: string, catalog: readonly AgentDescriptor[]): AgentDescriptor {
  const found = name === STRUCTURE_AGENT_TYPE ? undefined : lookupAgent(name, catalog);
  if (found?.kind === 'agent') {
    if (found.deprecatedAlias) request.log.warn({ alias: found.deprecatedAlias, agentType: found.descriptor.type }, `agent name "${found.deprecatedAlias}" is deprecated: use "${found.descriptor.type}"`);
    return found.descriptor;
  }
  if (found?.kind === 'removed') throw new HttpError(410, `agent type "${name}" is gone: ${found.pointer}`, 'AGENT_REMOVED', 'agentType');
  const known = suggestableAgents(catalog).map((d) => d.type);
  throw new HttpError(404, `unknown agent type "${name}" (known: ${known.length > 0 ? known.join(', ') : 'none yet'})`, 'UNKNOWN_AGENT_TYPE', 'agentType');
}

/** A thread named in the input must be the caller's (else 404) and on this case (else 400). */
async function assertThreadOfCase(deps: RouteDeps, userId: string, caseId: string, threadId: string): Promise<void> {
  const thread = await findOwnThread(deps.db, userId, threadId);
  if (thread.caseId !== caseId) throw new HttpError(400, 'body/threadId is not a thread of this case', 'FST_ERR_VALIDATION', 'threadId');
}

export async function agentRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const catalog = deps.config.agents ?? AGENT_CATALOG;

  app.post<{ Params: { caseId: string; agentType: string }; Body: AgentInput }>(
    '/v1/cases/:caseId/agents/:agentType',
    {
      schema: { tags: ['cases'], params, headers: idempotencyHeaders, body, response: withErrors({ 202: accepted, 410: errorBodySchema }) },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const userId = request.user.id;
      const { id: caseId } = await findOwnCase(deps.db, userId, request.params.caseId);
      const descriptor = resolve(request, request.params.agentType, catalog);
      if (request.body.threadId) await assertThreadOfCase(deps, userId, caseId, request.body.threadId);
      const correlationId = randomUUID();
      const workflowId = agentWorkflowId(descriptor.type, caseId, correlationId);
      const input: AgentDispatchInput = {
        userId,
        caseId,
        threadId: request.body.threadId,
        agentType: descriptor.type,
        correlationId,
        queues: deps.config.queues,
        params: { ...request.body },
      };
      await temporalCall(deps.temporal, () =>
        deps.temporal.workflow.start(descriptor.workflowType, {
          taskQueue: deps.config.queues[descriptor.queue],
          workflowId,
          args: [input],
          staticSummary: `${descriptor.type} agent on case ${caseId}`,
          typedSearchAttributes: searchAttributes(input),
        }),
      );
      request.log.info({ workflowId, agentType: descriptor.type, correlationId }, 'agent started');
      return reply.code(202).send({ workflowId, correlationId });
    },
  );
}
