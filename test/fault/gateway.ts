/**
 * A real gateway process for the fault tests (`node --import tsx api/server.ts`), on the
 * test's database, Temporal address and queue prefix, with the fault a test arms through its
 * environment (`FAULT_EXIT_AFTER_COMMIT`, `FAULT_EXIT_BEFORE_HANDOFF`: api/server.ts reads
 * them). Stopped by its own pid.
 */
import { startNode, waitFor, type Child } from '../helpers/child-process.js';
import { freePort } from '../helpers/temporal-server.js';

const READY_TIMEOUT_MS = 60_000;

export interface Gateway {
  child: Child;
  baseUrl: string;
}

export interface GatewayOptions {
  databaseUrl: string;
  temporalAddress: string;
  /** CASEWORK_QUEUE_PREFIX: the queues of the test's workers. */
  queuePrefix: string;
  /** Further variables: the fault armed, IDEMPOTENCY_STALE_MS... */
  env?: NodeJS.ProcessEnv;
}

export interface Answer {
  status: number;
  replayed: boolean;
  body: Record<string, unknown>;
}

/** Starts the gateway; resolves once it answers /healthz. Only the faults in `o.env` are armed. */
export async function startGateway(name: string, o: GatewayOptions): Promise<Gateway> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: o.databaseUrl,
    TEMPORAL_ADDRESS: o.temporalAddress,
    CASEWORK_QUEUE_PREFIX: o.queuePrefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    LLM_PROVIDER: 'local',
    EMBEDDING_PROVIDER: 'local',
    LOG_LEVEL: 'warn',
  };
  for (const key of Object.keys(env)) if (key.startsWith('FAULT_')) delete env[key];
  for (const key of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE', 'TEMPORAL_NAMESPACE']) delete env[key];
  const child = startNode(name, 'api/server.ts', [], { ...env, ...o.env });
  const gateway = { child, baseUrl: `http://127.0.0.1:${port}` };
  await waitFor(`${name} to listen`, async () => ((await fetch(`${gateway.baseUrl}/healthz`)).ok ? true : undefined), READY_TIMEOUT_MS, child);
  return gateway;
}

/** A JSON POST with the user's key (and an `Idempotency-Key`); rejects when the connection dies. */
export async function post(gateway: Gateway, apiKey: string, path: string, body: unknown, idempotencyKey?: string): Promise<Answer> {
  const res = await fetch(`${gateway.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body: (await res.json()) as Record<string, unknown> };
}
