/** Liveness and readiness. Readiness names what is down, so an operator knows where to look. */
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../app.js';

/** A dependency that takes longer than this to answer counts as down. */
const CHECK_TIMEOUT_MS = 2_000;

type CheckState = 'ok' | 'down';

async function check(probe: () => Promise<unknown>): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    message: { type: 'string' },
    checks: {
      type: 'object',
      properties: { temporal: { type: 'string', enum: ['ok', 'down'] }, postgres: { type: 'string', enum: ['ok', 'down'] } },
      required: ['temporal', 'postgres'],
    },
  },
  required: ['status', 'checks'],
} as const;

export async function healthRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const tags = ['operations'];

  app.get(
    '/healthz',
    { schema: { tags, security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }),
  );

  app.get('/readyz', { schema: { tags, security: [], response: { 200: readySchema, 503: readySchema } } }, async (_request, reply) => {
    const [temporal, postgres] = await Promise.all([
      check(() =>
        deps.temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => deps.temporal.workflowService.getSystemInfo({})),
      ),
      check(() => deps.sql`select 1`),
    ]);
    const checks = { temporal, postgres };
    const down = Object.entries(checks).filter(([, state]) => state === 'down').map(([name]) => name);
    if (down.length === 0) return { status: 'ok', checks };
    return reply.code(503).send({ status: 'unavailable', message: `not ready: ${down.join(' and ')} down`, checks });
  });
}
