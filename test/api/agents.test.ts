/**
 * `POST /v1/cases/:caseId/agents/:agentType` on the static catalog (Decisions 6, 15, 21):
 * fixture agents come in through the gateway's config, never by mutating the catalog. No
 * worker runs: a started run is checked by describing it.
 */
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { AGENT_CATALOG, suggestableAgents, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import { agentTypeKey, caseIdKey, correlationIdKey, threadIdKey, userIdKey } from '../../workflows/search-attributes.js';
import { call, createThread, defaultChat, insertCase, startApi, TEST_BODY_LIMIT, type ApiHarness } from './harness.js';

const fixtures: AgentDescriptor[] = [
  { type: 'critique', workflowType: 'fixtureCritique', queue: 'research', description: 'a fixture', cues: [], aliases: ['generate_critique_artifact'] },
  { type: 'research', workflowType: 'fixtureResearch', queue: 'research', description: 'a fixture', cues: [], aliases: [] },
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
  await app?.close();
  await h?.close();
});

const start = (gateway: FastifyInstance, agentType: string, payload: object = {}, forCase = caseId) =>
  call(gateway, h.alice, { method: 'POST', url: `/v1/cases/${forCase}/agents/${agentType}`, payload });

describe('with fixture agents', () => {
  it('starts a known type by name on its queue, id agent-<type>-<caseId>-<correlationId>, with search attributes', async () => {
    const thread = await createThread(h.app, h.alice, { caseId });
    const res = await start(app, 'critique', { focus: 'pricing risks', threadId: thread.id, budgetTokens: 5_000 });
    expect(res.statusCode, res.body).toBe(202);
    const { workflowId, correlationId } = res.json();
    expect(workflowId).toBe(`agent-critique-${caseId}-${correlationId}`);
    const description = await h.env.client.workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('fixtureCritique');
    expect(description.taskQueue).toBe(h.queues.research);
    const attributes = description.typedSearchAttributes;
    expect([userIdKey, caseIdKey, correlationIdKey, agentTypeKey, threadIdKey].map((k) => attributes.get(k))).toEqual([
      h.alice.id, caseId, correlationId, 'critique', thread.id,
    ]);
    const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = JSON.parse(Buffer.from(started!.input!.payloads![0]!.data!).toString());
    expect(input).toMatchObject({ userId: h.alice.id, caseId, threadId: thread.id, agentType: 'critique', correlationId, queues: h.queues });
    expect(input.params).toEqual({ focus: 'pricing risks', threadId: thread.id, budgetTokens: 5_000 });
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

  it('answers 410 with the pointer for a removed name, and 404 naming the known types for an unknown one', async () => {
    const removed = await start(app, 'extract_document_signals_workflow');
    expect(removed.statusCode).toBe(410);
    expect(removed.json().message).toContain('processDocument');
    const unknown = await start(app, 'summarise');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toContain('known: critique, research');
  });

  it('refuses a thread that is not of the case, a foreign case, and bad input', async () => {
    const elsewhere = await createThread(h.app, h.alice);
    const notOfCase = await start(app, 'critique', { threadId: elsewhere.id });
    expect(notOfCase.json()).toMatchObject({ statusCode: 400, field: 'threadId' });
    const bobsThread = await createThread(h.app, h.bob);
    expect((await start(app, 'critique', { threadId: bobsThread.id })).statusCode).toBe(404);
    expect((await start(app, 'critique', {}, await insertCase(h.database, h.bob.id))).statusCode).toBe(404);
    expect((await start(app, 'critique', {}, randomUUID())).statusCode).toBe(404);
    const bad: [object, string][] = [[{ colour: 'red' }, 'colour'], [{ budgetTokens: 0 }, 'budgetTokens'], [{ focus: 7 }, 'focus']];
    for (const [payload, field] of bad) expect((await start(app, 'critique', payload)).json(), field).toMatchObject({ statusCode: 400, field });
    expect((await start(app, 'Not A Type!')).json()).toMatchObject({ statusCode: 400, field: 'agentType' });
  });
});

describe('with the real catalog', () => {
  it('answers the same: 410 for a removed name, 404 naming the known types (none yet) otherwise', async () => {
    const known = suggestableAgents(AGENT_CATALOG).map((a) => a.type);
    const removed = await start(h.app, 'extract_document_signals_workflow');
    expect(removed.statusCode).toBe(410);
    expect(removed.json()).toMatchObject({ code: 'AGENT_REMOVED', message: expect.stringContaining('processDocument') });
    for (const name of ['summarise', ...(known.length === 0 ? ['research', 'generate_research_artifact'] : [])]) {
      const unknown = await start(h.app, name);
      expect(unknown.statusCode, name).toBe(404);
      expect(unknown.json(), name).toMatchObject({ code: 'UNKNOWN_AGENT_TYPE', field: 'agentType' });
      expect(unknown.json().message, name).toContain(`known: ${known.length > 0 ? known.join(', ') : 'none yet'}`);
    }
  });
});
