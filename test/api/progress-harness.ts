/**
 * The progress stream's test stack: the API harness, a worker running the fixture relay
 * workflow, gateways listening on real ports (inject buffers a response until it ends),
 * and a way to write a run's progress rows as the pipelines' activities will.
 */
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { runProgress } from '../../activities/db/schema/index.js';
import type { ProgressStreamConfig } from '../../api/routes/progress.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { uniqueId } from '../helpers/temporal.js';
import { startApi, type ApiHarness, type TestUser } from './harness.js';
import { openSse, type SseConnection, type SseMessage } from './sse-client.js';

const workflowsPath = fileURLToPath(new URL('./fixtures/progress-workflows.ts', import.meta.url));

export interface ProgressHarness {
  h: ApiHarness;
  /** Opens the stream over HTTP on `app` (default: the harness's gateway). */
  listen(user: TestUser, workflowId: string, options?: { app?: FastifyInstance; lastEventId?: string }): Promise<SseConnection>;
  /** A relay run owned by `owner` (none: a system run); it continues as new on `nextRun`. */
  startRelay(owner?: TestUser): Promise<WorkflowHandle>;
  latestRunId(workflowId: string): Promise<string>;
  insertSteps(workflowId: string, runId: string, seqs: number[]): Promise<void>;
  close(): Promise<void>;
}

/** The payload `insertSteps` writes for a row: names its run and seq, so order and origin show. */
export const step = (runId: string, seq: number) => ({ step: `${runId.slice(0, 8)}-${seq}` });

export const progressCount = (n: number) => (messages: SseMessage[]) => messages.filter((m) => m.event === 'progress').length >= n;

export async function startProgressHarness(progress: Partial<ProgressStreamConfig>): Promise<ProgressHarness> {
  const h = await startApi({ progress });
  const worker = await Worker.create({ connection: h.env.nativeConnection, taskQueue: h.queues.chat, workflowsPath });
  const running = worker.run();
  const baseUrls = new Map<FastifyInstance, string>();
  const connections: SseConnection[] = [];
  const baseUrl = async (app: FastifyInstance) => {
    const url = baseUrls.get(app) ?? (await app.listen({ port: 0, host: '127.0.0.1' }));
    baseUrls.set(app, url);
    return url;
  };
  return {
    h,
    async listen(user, workflowId, options = {}) {
      const c = await openSse(await baseUrl(options.app ?? h.app), `/v1/workflows/${workflowId}/progress`, user.key, options.lastEventId);
      connections.push(c);
      return c;
    },
    startRelay: (owner) =>
      h.env.client.workflow.start('progressRelay', {
        taskQueue: h.queues.chat,
        workflowId: uniqueId('relay'),
        typedSearchAttributes: searchAttributes({ userId: owner?.id }),
      }),
    latestRunId: async (workflowId) => (await h.env.client.workflow.getHandle(workflowId).describe()).runId,
    async insertSteps(workflowId, runId, seqs) {
      await h.database.db.insert(runProgress).values(seqs.map((seq) => ({ workflowId, runId, seq, payload: step(runId, seq) })));
    },
    async close() {
      for (const c of connections) c.close();
      worker.shutdown();
      await running;
      await h.close();
    },
  };
}

/** A Temporal client whose describe calls are counted: what a stream costs Temporal. */
export function countingClient(real: Client): { client: Client; describes: () => number } {
  let describes = 0;
  const bind = <T extends object>(target: T, prop: string | symbol) => {
    const value = Reflect.get(target, prop) as unknown;
    return typeof value === 'function' ? value.bind(target) : value;
  };
  const countHandle = (handle: WorkflowHandle) =>
    new Proxy(handle, { get: (t, p) => (p === 'describe' ? () => (describes++, t.describe()) : bind(t, p)) });
  const workflow = new Proxy(real.workflow, {
    get: (t, p) => (p === 'getHandle' ? (...args: Parameters<typeof t.getHandle>) => countHandle(t.getHandle(...args)) : bind(t, p)),
  });
  const client = new Proxy(real, { get: (t, p) => (p === 'workflow' ? workflow : bind(t, p)) });
  return { client, describes: () => describes };
}
