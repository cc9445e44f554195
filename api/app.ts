/**
 * The gateway as a plugin tree: `buildApp(deps)` wires everything it is given and reads
 * nothing from the environment, so tests build it with their own database, Temporal
 * client and config, and `server.ts` is the only composition root.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type postgres from 'postgres';
import type { Db } from '../activities/db/client.js';
import type { HandOffHooks } from '../activities/handoff.js';
import type { Embedder } from '../activities/llm/types.js';
import type { BriefConfig, Config, SearchConfig } from '../workers/config.js';
import type { AgentDescriptor } from '../workflows/agents/catalog.js';
import type { QueueNames } from '../workflows/types.js';
import { createAuthHook, ensureDevKey, type AuthUser } from './auth.js';
import { handleError, handleNotFound } from './errors.js';
import { createIdempotency, type IdempotencyHooks, type IdempotencyOptions } from './idempotency.js';
import { rejectNulCharacters } from './input-guards.js';
import { useStrictJsonBodies } from './json-body.js';
import { createStartingPostLimiter, type StartingPostLimiter } from './rate-limit.js';
import { adminRoutes } from './routes/admin.js';
import { documentRoutes } from './routes/documents.js';
import { agentRoutes } from './routes/agents.js';
import { artifactRoutes } from './routes/artifacts.js';
import { briefRoutes } from './routes/briefs.js';
import { caseRoutes } from './routes/cases.js';
import { eventRoutes } from './routes/events.js';
import { evidenceRoutes } from './routes/evidence.js';
import { healthRoutes } from './routes/health.js';
import { inquiryRoutes } from './routes/inquiries.js';
import { messageRoutes } from './routes/messages.js';
import { progressRoutes, type ProgressStreamConfig } from './routes/progress.js';
import { searchRoutes } from './routes/search.js';
import { signalRoutes } from './routes/signals.js';
import { suggestionRoutes } from './routes/suggestions.js';
import { threadRoutes } from './routes/threads.js';
import { urlRoutes } from './routes/urls.js';
import { workflowRoutes } from './routes/workflows.js';

export interface AppConfig {
  queues: QueueNames;
  chat: Config['chat'];
  bodyLimitBytes: number;
  /** Starting POSTs a user may make per minute, over all routes (429 past it). */
  rateLimitPerMinute: number;
  /** `Idempotency-Key` timings (and the crash test's hook); absent: the defaults of `createIdempotency`. */
  idempotency?: IdempotencyOptions;
  /** The search route's own per-user budget and the vector bytes one search holds; what is absent: SEARCH_DEFAULTS'. */
  search?: Partial<SearchConfig>;
  /** The agents the gateway can start: the static catalog unless a test passes fixture agents. */
  agents?: readonly AgentDescriptor[];
  /** The progress stream's intervals and per-user cap; what is absent: DEFAULT_PROGRESS_STREAM's. */
  progress?: Partial<ProgressStreamConfig>;
  /** DOCUMENT_MAX_BYTES and the rest; absent: the config module's defaults. */
  documents?: Pick<Config['documents'], 'maxBytes'>;
  /** EVIDENCE_MAX_CHARS; absent: the config module's default. */
  evidence?: Config['evidence'];
  /** Test-only: the fault suite's crash hook of the shared hand-off (set by `api/server.ts` from FAULT_EXIT_BEFORE_HANDOFF). */
  handOff?: HandOffHooks;
  /** The windows a case's brief workflow starts with when the gateway tells it first (an attach); absent: the defaults. */
  brief?: BriefConfig;
  /** What a manual maintenance job starts with (SCHEDULES_TIME_ZONE, SIGNAL_*); absent: UTC and the defaults. */
  maintenance?: { timeZone: string; signalMaintenance?: Config['signalMaintenance']; housekeeping?: Config['housekeeping'] };
  /** When set, the dev user (admin) is ensured to own this key at startup (Decision 4). */
  devApiKey?: string;
}

export interface AppDeps {
  db: Db;
  sql: postgres.Sql;
  temporal: Client;
  /** Embeds search queries: the worker's embedder (same provider, model, dimensions), or vectors would not compare. */
  embedder: Embedder;
  config: AppConfig;
  /** A pino logger for JSON request logs; false or absent: silent. */
  logger?: Logger | false;
}

/** The hooks of every starting POST: the per-user rate limit, then `Idempotency-Key`. */
export interface StartingPostHooks extends IdempotencyHooks {
  onRequest: StartingPostLimiter;
}

/** What every route plugin receives. */
export interface RouteDeps extends AppDeps {
  /** Spread into the options of every POST that starts or stores work: `{ schema, ...startingPost }`. */
  startingPost: StartingPostHooks;
}

/** Path parameters that identify what a request is about go on every log line of it (Decision 11). */
const LOGGED_PARAMS = ['threadId', 'caseId', 'documentId', 'evidenceId', 'workflowId', 'suggestionId', 'annotationId', 'inquiryId'] as const;

function bindLogFields(request: FastifyRequest): void {
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  const fields: Record<string, string> = {};
  for (const name of LOGGED_PARAMS) if (params[name]) fields[name] = params[name];
  if (request.user) fields.userId = request.user.id;
  if (Object.keys(fields).length > 0) request.log = request.log.child(fields);
}

async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'casework gateway', version: '0.1.0', description: 'Chat, runs and events of casework (see API.md).' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'a casework API key' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Typed as Fastify's own logger interface, which pino implements, so the app is a plain FastifyInstance.
    ...(deps.logger ? { loggerInstance: deps.logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: deps.config.bodyLimitBytes,
    // Workflow ids may be 255 characters (the route's schema says so); Fastify's default is 100.
    routerOptions: { maxParamLength: 256 },
    // Unique across gateways and restarts (Fastify counts from req-1): a search's ledger key is its request id.
    genReqId: () => randomUUID(),
    ajv: {
      // Unknown fields are a 400 naming them, and a wrong type is never coerced into a right one.
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false },
    },
  });

  // JSON only: any other body is a 415 before a handler sees it.
  app.removeContentTypeParser('text/plain');
  useStrictJsonBodies(app);
  app.decorateRequest('user', null as unknown as AuthUser);
  app.decorateRequest('idempotencyClaim', null);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  app.addHook('onRequest', createAuthHook(deps.db));
  app.addHook('preValidation', rejectNulCharacters);
  app.addHook('preHandler', async (request) => bindLogFields(request));
  await registerDocs(app);

  const startingPost: StartingPostHooks = {
    onRequest: await createStartingPostLimiter(app, deps.config.rateLimitPerMinute),
    ...createIdempotency(deps.db, deps.config.idempotency),
  };
  const routeDeps: RouteDeps = { ...deps, startingPost };
  await app.register(healthRoutes, routeDeps);
  await app.register(threadRoutes, routeDeps);
  await app.register(suggestionRoutes, routeDeps);
  await app.register(messageRoutes, routeDeps);
  await app.register(caseRoutes, routeDeps);
  await app.register(agentRoutes, routeDeps);
  await app.register(artifactRoutes, routeDeps);
  await app.register(workflowRoutes, routeDeps);
  await app.register(eventRoutes, routeDeps);
  await app.register(progressRoutes, routeDeps);
  await app.register(adminRoutes, routeDeps);
  await app.register(documentRoutes, routeDeps);
  await app.register(searchRoutes, routeDeps);
  await app.register(urlRoutes, routeDeps);
  await app.register(briefRoutes, routeDeps);
  await app.register(evidenceRoutes, routeDeps);
  await app.register(signalRoutes, routeDeps);
  await app.register(inquiryRoutes, routeDeps);

  if (deps.config.devApiKey) await ensureDevKey(deps.db, deps.config.devApiKey);
  return app;
}
