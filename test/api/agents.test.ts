/**
 * `POST /v1/cases/:caseId/agents/:agentType` on the static catalog (Decisions 6, 15, 21, 23,
 * 29): fixture agents come in through the gateway's config, never by mutating the catalog. The
 * start commits its agent_runs row and placeholder, then hands the run over. No worker runs:
 * a started run is checked by describing it.
 */
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_START_FAILED } from '../../activities/agents/start.js';
import { agentRuns, idempotencyKeys, messages, threads } from '../../activities/db/schema/index.js';
import { buildApp } from '../../api/app.js';
import { AGENT_CATALOG, suggestableAgents, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import { agentTypeKey, caseIdKey, correlationIdKey, threadIdKey, userIdKey } from '../../workflows/search-attributes.js';
import { fixtureAgent } from '../fixtures/agents.js';
import { channelShutDown } from './fake-temporal.js';
import { call, createThread, defaultChat, insertCase, startApi, TEST_BODY_LIMIT, type ApiHarness } from './harness.js';

const fixtures: AgentDescriptor[] = [
  fixtureAgent('critique', { workflowType: 'fixtureCritique', aliases: ['generate_critique_artifact'] }),
  fixtureAgent('research', { workflowType: 'fixtureResearch' }),
];

let h: ApiHarness;
/** The gateway with fixture agents and a logger whose lines the tests read. */
let app: FastifyInstance;
const logLines: Record<string, unknown>[] = [];
let caseId: string;

beforeAll(async () => {
  h = await startApi();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  app = await buildApp({
    db: h.database.db,
    sql: h.database.sql,
    temporal: h.env.client,
    embedder: createLocalEmbedder(256),
    config: { queues: h.queues, chat: defaultChat, bodyLimitBytes: TEST_BODY_LIMIT, rateLimitPerMinute: 100_000, agents: fixtures },
    logger: pino({ level: 'warn' }, sink),
  });
  caseId = await insertCase(h.database, h.alice.id);
});

afterAll(async () => {
  // No worker serves these queues: stop the runs the tests started.
  for await (const run of h.env.client.workflow.list({ query: `TaskQueue = "${h.queues.research}" AND ExecutionStatus = "Running"` })) {
    await h.env.client.workflow.getHandle(run.workflowId).terminate('test over').catch(() => undefined);
  }
  await app?.close();
  await h?.close();
});

const start = (gateway: FastifyInstance, agentType: string, payload: object = {}, forCase = caseId, headers: Record<string, string> = {}) =>
  call(gateway, h.alice, { method: 'POST', url: `/v1/cases/${forCase}/agents/${agentType}`, payload, headers });

async function startedInput(workflowId: string): Promise<Record<string, unknown>> {
  const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return JSON.parse(Buffer.from(started!.input!.payloads![0]!.data!).toString()) as Record<string, unknown>;
}

const runRow = async (workflowId: string) => (await h.database.db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId)))[0];
const message = async (id: string) => (await h.database.db.select().from(messages).where(eq(messages.id, id)))[0];

describe('with fixture agents', () => {
  it('commits the run and its placeholder, then starts the type on its queue: agent-<type>-<caseId>-<correlationId>', async () => {
    const thread = await createThread(h.app, h.alice, { caseId });
    const res = await start(app, 'critique', { topic: 'pricing risks', threadId: thread.id, budgetTokens: 5_000 });
    expect(res.statusCode, res.body).toBe(202);
    const { workflowId, correlationId, placeholderMessageId } = res.json();
    expect(workflowId).toBe(`agent-critique-${caseId}-${correlationId}`);
    const description = await h.env.client.workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('fixtureCritique');
    expect(description.taskQueue).toBe(h.queues.research);
    const attributes = description.typedSearchAttributes;
    expect([userIdKey, caseIdKey, correlationIdKey, agentTypeKey, threadIdKey].map((k) => attributes.get(k))).toEqual([
      h.alice.id, caseId, correlationId, 'critique', thread.id,
    ]);
    // Decision 29's agent input, nothing more.
    expect(await startedInput(workflowId)).toEqual({
      caseId, topic: 'pricing risks', threadId: thread.id, budgetTokens: 5_000, userId: h.alice.id, correlationId, placeholderMessageId, queues: h.queues,
    });
    expect(await runRow(workflowId)).toMatchObject({
      type: 'critique', workflowType: 'fixtureCritique', queue: 'research', status: 'pending', caseId, threadId: thread.id, placeholderMessageId, correlationId,
    });
    expect(await message(placeholderMessageId)).toMatchObject({
      threadId: thread.id, role: 'assistant', status: 'pending', metadata: { kind: 'agent-progress', workflowId, agentType: 'critique' },
    });
  });

  it('takes `focus` as the older name of `topic`, and refuses both at once', async () => {
    const res = await start(app, 'critique', { focus: 'the ovens' });
    expect(res.statusCode).toBe(202);
    expect((await startedInput(res.json().workflowId)).topic).toBe('the ovens');
    expect((await start(app, 'critique', { focus: 'a', topic: 'b' })).json()).toMatchObject({ statusCode: 400, field: 'focus' });
  });

  it('puts the placeholder in the case\'s activity thread when no thread is named: one per case, listed, open to messages', async () => {
    const ownCase = await insertCase(h.database, h.alice.id);
    const [first, second] = await Promise.all([start(app, 'critique', {}, ownCase), start(app, 'research', {}, ownCase)]);
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    const activity = await h.database.db.select().from(threads).where(and(eq(threads.caseId, ownCase), eq(threads.kind, 'case-activity')));
    expect(activity).toHaveLength(1);
    const threadId = activity[0]!.id;
    for (const res of [first, second]) expect((await message(res.json().placeholderMessageId))?.threadId).toBe(threadId);
    expect((await startedInput(second.json().workflowId)).threadId).toBe(threadId);
    const listed = await call(h.app, h.alice, { method: 'GET', url: '/v1/threads?limit=500' });
    expect(listed.json().threads.find((t: { id: string }) => t.id === threadId)).toMatchObject({ kind: 'case-activity', caseId: ownCase });
    const posted = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${threadId}/messages`, payload: { content: 'How is it going?' } });
    expect(posted.statusCode, posted.body).toBe(202);
    await h.env.client.workflow.getHandle(posted.json().workflowId).terminate('test over');
  });

  it('names research runs research-<caseId>-<correlationId> (Decision 21)', async () => {
    const res = await start(app, 'research');
    expect(res.statusCode).toBe(202);
    expect(res.json().workflowId).toBe(`research-${caseId}-${res.json().correlationId}`);
  });

  it('runs the real type for a deprecated alias, and logs the new name', async () => {
    const res = await start(app, 'generate_critique_artifact');
    expect(res.statusCode).toBe(202);
    expect(res.json().workflowId).toMatch(new RegExp(`^agent-critique-${caseId}-`));
    const description = await h.env.client.workflow.getHandle(res.json().workflowId).describe();
    expect(description.type).toBe('fixtureCritique');
    const warning = logLines.find((l) => l.alias === 'generate_critique_artifact');
    expect(warning).toMatchObject({ level: 40, agentType: 'critique', msg: expect.stringContaining('critique') });
  });

  it('answers 410 with the amended pointer for a removed name, and 404 naming the known types for an unknown one or the case draft', async () => {
    const removed = await start(app, 'extract_document_signals_workflow');
    expect(removed.statusCode).toBe(410);
    expect(removed.json().message).toContain('processDocument');
    expect(removed.json().message).toContain('POST /v1/cases/:caseId/signals/extract { documentId }');
    for (const name of ['summarise', 'structure']) {
      const unknown = await start(app, name);
      expect(unknown.statusCode, name).toBe(404);
      expect(unknown.json().message).toContain('known: critique, research');
    }
  });

  it('refuses a thread that is not of the case, a foreign case, and bad input, committing nothing', async () => {
    const before = await h.database.db.select().from(agentRuns);
    const elsewhere = await createThread(h.app, h.alice);
    const notOfCase = await start(app, 'critique', { threadId: elsewhere.id });
    expect(notOfCase.json()).toMatchObject({ statusCode: 400, field: 'threadId' });
    const bobsThread = await createThread(h.app, h.bob);
    expect((await start(app, 'critique', { threadId: bobsThread.id })).statusCode).toBe(404);
    expect((await start(app, 'critique', {}, await insertCase(h.database, h.bob.id))).statusCode).toBe(404);
    expect((await start(app, 'critique', {}, randomUUID())).statusCode).toBe(404);
    const bad: [object, string][] = [[{ colour: 'red' }, 'colour'], [{ budgetTokens: 0 }, 'budgetTokens'], [{ topic: 7 }, 'topic'], [{ focus: '' }, 'focus']];
    for (const [payload, field] of bad) expect((await start(app, 'critique', payload)).json(), field).toMatchObject({ statusCode: 400, field });
    expect((await start(app, 'Not A Type!')).json()).toMatchObject({ statusCode: 400, field: 'agentType' });
    expect(await h.database.db.select().from(agentRuns)).toHaveLength(before.length);
  });
});

describe('the hand-off', () => {
  /** A client whose start certainly fails: a closed channel, so nothing was sent. */
  const closedClient = (real: Client): Client => {
    const failing = async () => {
      throw channelShutDown();
    };
    return { withDeadline: real.withDeadline.bind(real), workflow: { start: failing, signalWithStart: failing } } as unknown as Client;
  };

  it('fails the run and its placeholder on a start that certainly did not land (503, the key freed)', async () => {
    const closed = await h.buildSibling({ temporal: closedClient(h.env.client), config: { agents: fixtures } });
    const key = `agent-${randomUUID()}`;
    const res = await start(closed, 'critique', { topic: 'never started' }, caseId, { 'idempotency-key': key });
    expect({ status: res.statusCode, message: res.json().message }).toEqual({ status: 503, message: AGENT_START_FAILED });
    const [run] = await h.database.db.select().from(agentRuns).where(eq(agentRuns.type, 'critique')).orderBy(agentRuns.createdAt).limit(1000)
      .then((rows) => rows.filter((r) => (r.input as { topic?: string }).topic === 'never started'));
    expect({ status: run?.status, error: run?.error }).toEqual({ status: 'failed', error: AGENT_START_FAILED });
    expect(await message(run!.placeholderMessageId!)).toMatchObject({ status: 'failed', content: expect.stringContaining(AGENT_START_FAILED) });
    expect(await h.database.db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.userId, h.alice.id), eq(idempotencyKeys.key, key)))).toHaveLength(0);
  });

  it('answers a repeated Idempotency-Key with the committed answer: one run, one placeholder', async () => {
    const headers = { 'idempotency-key': `agent-${randomUUID()}` };
    const [first, second] = await Promise.all([start(app, 'critique', { topic: 'once' }, caseId, headers), start(app, 'critique', { topic: 'once' }, caseId, headers)]);
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    expect(second.json()).toEqual(first.json());
    expect(await h.database.db.select().from(agentRuns).where(eq(agentRuns.correlationId, first.json().correlationId))).toHaveLength(1);
  });
});

describe('with the real catalog', () => {
  it('answers the same: 410 for a removed name, 404 naming the known types (none yet, not the case draft) otherwise', async () => {
    const known = suggestableAgents(AGENT_CATALOG).map((a) => a.type);
    const removed = await start(h.app, 'extract_document_signals_workflow');
    expect(removed.statusCode).toBe(410);
    expect(removed.json()).toMatchObject({ code: 'AGENT_REMOVED', message: expect.stringContaining('signals/extract') });
    for (const name of ['summarise', 'structure', ...(known.length === 0 ? ['research', 'generate_research_artifact'] : [])]) {
      const unknown = await start(h.app, name);
      expect(unknown.statusCode, name).toBe(404);
      expect(unknown.json(), name).toMatchObject({ code: 'UNKNOWN_AGENT_TYPE', field: 'agentType' });
      expect(unknown.json().message, name).toContain(`known: ${known.length > 0 ? known.join(', ') : 'none yet'}`);
    }
  });
});
