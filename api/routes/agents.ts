/**
 * `POST /v1/cases/:caseId/agents/:agentType`: starts an agent of the static catalog
 * (Decision 15) on a case of the caller, through the one start (activities/agents/start.ts,
 * Decision 29): the placeholder (in `threadId`, or the case's activity thread) and the
 * `agent_runs` row are committed with the request's `Idempotency-Key` answer, then the run is
 * handed over; 202 `{ workflowId, correlationId, placeholderMessageId }`. A start that may
 * have landed answers as committed (the sweeper takes over if it never did); one that
 * certainly did not fails the row and its placeholder and answers 503. A deprecated alias
 * runs the real type and logs the new name; a removed name is a 410 with its pointer
 * (Decision 6); an unknown one a 404 naming the known types; the case draft starts from a
 * thread's suggestion, not here.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { startAgentRun } from '../../activities/agents/start.js';
import { TOPIC_MAX_CHARS } from '../../activities/chat-suggestions.js';
import { AGENT_CATALOG, lookupAgent, suggestableAgents, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { errorBodySchema, HttpError, namedPattern } from '../errors.js';
import { answerHandOver } from '../handoff.js';
import { commitAnswer, withdrawAnswer } from '../idempotency.js';
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

const caseParams = { type: 'object', properties: { caseId: uuid }, required: ['caseId'], additionalProperties: false } as const;

const topic = { type: 'string', minLength: 1, maxLength: TOPIC_MAX_CHARS } as const;

/** The agent input every catalog agent takes (Decision 29: `AgentInput`). */
const body = {
  type: 'object',
  properties: {
    topic: { ...topic, description: 'what the agent should look at' },
    focus: { ...topic, description: 'the older name of `topic`, still accepted' },
    threadId: { ...uuid, description: 'a thread of the case where the agent posts; absent: the case\'s activity thread' },
    budgetTokens: { type: 'integer', minimum: 1, maximum: 10_000_000, description: 'LLM tokens the run may spend (default: RESEARCH_BUDGET_TOKENS)' },
    maxIterations: { type: 'integer', minimum: 1, maximum: 50, description: 'rounds of the agent\'s loop at most (default: RESEARCH_MAX_ITERATIONS)' },
    recordTrajectory: { type: 'boolean', description: 'record each step\'s inputs, outputs, sources, tokens and latency (GET /v1/workflows/:id/trajectory)' },
  },
  additionalProperties: false,
} as const;

interface AgentBody {
  topic?: string;
  focus?: string;
  threadId?: string;
  budgetTokens?: number;
  maxIterations?: number;
  recordTrajectory?: boolean;
}

const accepted = {
  type: 'object',
  properties: {
    workflowId: { type: 'string' },
    correlationId: { type: 'string' },
    placeholderMessageId: { ...uuid, description: 'the agent\'s progress message (`metadata.kind` agent-progress) in its thread' },
  },
  required: ['workflowId', 'correlationId', 'placeholderMessageId'],
} as const;

/** The agent a name starts, or the 410 / 404 that answers it. The case draft starts from a thread, not here. */
function resolve(request: FastifyRequest, name: string, catalog: readonly AgentDescriptor[]): AgentDescriptor {
  const found = lookupAgent(name, catalog);
  if (found.kind === 'agent' && found.descriptor.input === 'agent') {
    if (found.deprecatedAlias) request.log.warn({ alias: found.deprecatedAlias, agentType: found.descriptor.type }, `agent name "${found.deprecatedAlias}" is deprecated: use "${found.descriptor.type}"`);
    return found.descriptor;
  }
  if (found.kind === 'removed') throw new HttpError(410, `agent type "${name}" is gone: ${found.pointer}`, 'AGENT_REMOVED', 'agentType');
  const known = suggestableAgents(catalog).map((d) => d.type);
  throw new HttpError(404, `unknown agent type "${name}" (known: ${known.length > 0 ? known.join(', ') : 'none yet'})`, 'UNKNOWN_AGENT_TYPE', 'agentType');
}

/** A thread named in the input must be the caller's (else 404) and on this case (else 400). */
async function assertThreadOfCase(deps: RouteDeps, userId: string, caseId: string, threadId: string): Promise<void> {
  const thread = await findOwnThread(deps.db, userId, threadId);
  if (thread.caseId !== caseId) throw new HttpError(400, 'body/threadId is not a thread of this case', 'FST_ERR_VALIDATION', 'threadId');
}

function topicOf(body: AgentBody): string | undefined {
  if (body.topic !== undefined && body.focus !== undefined) {
    throw new HttpError(400, 'body/focus is the older name of topic: give one of them', 'FST_ERR_VALIDATION', 'focus');
  }
  return body.topic ?? body.focus;
}

export async function agentRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const catalog = deps.config.agents ?? AGENT_CATALOG;

  /** Starts the agent a name resolves to on the caller's case: the committed start, then the hand-over (Decision 29). */
  async function startOnCase(request: FastifyRequest<{ Body: AgentBody }>, reply: FastifyReply, caseParam: string, agentType: string) {
    const userId = request.user.id;
    const { id: caseId } = await findOwnCase(deps.db, userId, caseParam);
    const descriptor = resolve(request, agentType, catalog);
    const { threadId, budgetTokens, maxIterations, recordTrajectory } = request.body ?? {};
    const topic = topicOf(request.body ?? {});
    if (threadId) await assertThreadOfCase(deps, userId, caseId, threadId);
    const correlationId = randomUUID();
    let answer: { workflowId: string; correlationId: string; placeholderMessageId: string } | undefined;
    const handed = await startAgentRun(
      { db: deps.db, temporal: deps.temporal, queues: deps.config.queues, hooks: deps.config.handOff },
      { descriptor, userId, caseId, threadId, topic, budgetTokens, maxIterations, recordTrajectory, correlationId },
      {
        inTransaction: async (tx, row) => {
          answer = { workflowId: row.workflowId, correlationId, placeholderMessageId: row.placeholderMessageId! };
          await commitAnswer(tx, request, 202, answer);
        },
        onFailed: (tx) => withdrawAnswer(tx, request),
      },
    );
    answerHandOver(request, 'agent-run', handed);
    request.log.info({ ...answer, agentType: descriptor.type, outcome: handed.outcome }, 'agent started');
    return reply.code(202).send(answer);
  }

  app.post<{ Params: { caseId: string; agentType: string }; Body: AgentBody }>(
    '/v1/cases/:caseId/agents/:agentType',
    {
      schema: { tags: ['cases'], params, headers: idempotencyHeaders, body, response: withErrors({ 202: accepted, 410: errorBodySchema }) },
      ...deps.startingPost,
    },
    (request, reply) => startOnCase(request, reply, request.params.caseId, request.params.agentType),
  );

  /** The research agent by its own route (issue 19): the same body and answer as `…/agents/research`. */
  app.post<{ Params: { caseId: string }; Body: AgentBody }>(
    '/v1/cases/:caseId/research',
    {
      schema: { tags: ['cases'], params: caseParams, headers: idempotencyHeaders, body, response: withErrors({ 202: accepted }) },
      ...deps.startingPost,
    },
    (request, reply) => startOnCase(request, reply, request.params.caseId, 'research'),
  );
}
