/**
 * One gateway per test file: its own database, its own task queues, the run's Temporal dev
 * server, two users. No worker: signal-with-start succeeds without one, and a test that
 * needs a reply writes the rows itself.
 */
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppConfig } from '../../api/app.js';
import { createUserWithKey } from '../../api/auth.js';
import type { Db } from '../../activities/db/client.js';
import { cases, events, threads } from '../../activities/db/schema/index.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import type { Config } from '../../workers/config.js';
import type { QueueNames } from '../../workflows/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_DIMENSIONS } from '../helpers/retrieval.js';
import { connectTestEnv, testQueues, uniqueId } from '../helpers/temporal.js';

export interface TestUser {
  id: string;
  name: string;
  key: string;
}

export interface ApiHarness {
  app: FastifyInstance;
  database: TestDatabase;
  env: TestWorkflowEnvironment;
  queues: QueueNames;
  alice: TestUser;
  /** An admin: admins too see only their own things. */
  bob: TestUser;
  /** Another gateway on the same database and queues (a different Temporal client, database handle or config). */
  buildSibling(overrides: { temporal?: Client; db?: Db; config?: Partial<AppConfig> }): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export const defaultChat: Config['chat'] = { syncResponses: false, syncTimeoutMs: 2_000, messageMaxChars: 1_000, redeliveryAfterMs: 30_000, maxPendingPerThread: 50 };
export const TEST_BODY_LIMIT = 64 * 1024;
/** High enough that no test but the rate-limit ones meets it (starting POSTs, searches); those build a sibling with a low limit. */
export const TEST_RATE_LIMIT_PER_MINUTE = 100_000;

async function makeUser(database: TestDatabase, label: string, admin: boolean): Promise<TestUser> {
  const name = uniqueId(label);
  const { userId, key } = await createUserWithKey(database.db, { name, admin });
  return { id: userId, name, key };
}

export async function startApi(config: Partial<AppConfig> = {}): Promise<ApiHarness> {
  const database = await createTestDatabase();
  const env = await connectTestEnv();
  const queues = testQueues('api');
  const apps: FastifyInstance[] = [];
  const build = async (temporal: Client, overrides: Partial<AppConfig>, db: Db = database.db) => {
    const app = await buildApp({
      db,
      sql: database.sql,
      temporal,
      // The local embedder, at the dimensions test/helpers/retrieval.ts stores chunks with.
      embedder: createLocalEmbedder(TEST_DIMENSIONS),
      config: {
        queues,
        chat: defaultChat,
        bodyLimitBytes: TEST_BODY_LIMIT,
        rateLimitPerMinute: TEST_RATE_LIMIT_PER_MINUTE,
        search: { rateLimitPerMinute: TEST_RATE_LIMIT_PER_MINUTE },
        ...overrides,
      },
      logger: false,
    });
    apps.push(app);
    return app;
  };
  const app = await build(env.client, config);
  return {
    app,
    database,
    env,
    queues,
    alice: await makeUser(database, 'alice', false),
    bob: await makeUser(database, 'bob', true),
    buildSibling: (o) => build(o.temporal ?? env.client, { ...config, ...o.config }, o.db),
    async close() {
      for (const a of apps) await a.close();
      await env.teardown();
      await database.drop();
    },
  };
}

export function as(user: TestUser, options: InjectOptions): InjectOptions {
  return { ...options, headers: { ...options.headers, authorization: `Bearer ${user.key}` } };
}

export async function call(app: FastifyInstance, user: TestUser, options: InjectOptions): Promise<LightMyRequestResponse> {
  return app.inject(as(user, options));
}

export async function createThread(app: FastifyInstance, user: TestUser, body: Record<string, unknown> = {}): Promise<{ id: string; caseId: string | null }> {
  const res = await call(app, user, { method: 'POST', url: '/v1/threads', payload: body });
  if (res.statusCode !== 201) throw new Error(`thread not created: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function insertCase(database: TestDatabase, userId: string): Promise<string> {
  const [row] = await database.db.insert(cases).values({ userId, title: 'a case' }).returning({ id: cases.id });
  return row!.id;
}

export async function insertEvent(
  database: TestDatabase,
  event: { userId: string; type: string; threadId?: string; caseId?: string; documentId?: string },
): Promise<number> {
  const [row] = await database.db
    .insert(events)
    .values({ ...event, payload: { n: 1 }, idempotencyKey: uniqueId('event') })
    .returning({ id: events.id });
  return row!.id;
}

export async function threadTurns(database: TestDatabase, threadId: string): Promise<number> {
  const [row] = await database.db.select({ turns: threads.userTurns }).from(threads).where(eq(threads.id, threadId));
  return row?.turns ?? -1;
}

/** A database handle whose `select` calls are counted: what a gateway keeps reading while nobody asks. */
export function countingDb(db: Db): { db: Db; selects: () => number } {
  let selects = 0;
  const counted = new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (prop === 'select' && typeof value === 'function') {
        return (...args: unknown[]) => {
          selects++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: counted, selects: () => selects };
}
