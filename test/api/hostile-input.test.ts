/**
 * Hostile input for every route, generated (issue 12): the test walks `/openapi.json` and
 * sends each operation the cases `hostile-cases.ts` derives from its parameters and body
 * schema. Every answer must be the expected 4xx, documented for the operation (never a
 * 5xx); a 400 names the field; and no table gains or loses a row. A new route is covered
 * the day it is added: there is nothing to register here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentDescriptor } from '../../workflows/agents/catalog.js';
import { fixtureAgent as fixtureAgentOf } from '../fixtures/agents.js';
import { and, eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { agentSuggestions, artifacts, briefAnnotations, cases, documents, evidence as evidenceTable, inquiries, messages, threads } from '../../activities/db/schema/index.js';
import { storeDocument } from '../../activities/documents/store.js';
import { hostileCases, idNames, type CaseContext, type HostileCase, type Ids, type Operation, type Parameter } from './hostile-cases.js';
import { storeEvidence } from '../../activities/evidence/store.js';
import type { JsonSchema } from './hostile-values.js';
import { as, call, createThread, insertCase, startApi, TEST_BODY_LIMIT, type TestUser } from './harness.js';

/** Statuses the error handler and the gateway's hooks give any authenticated route (its `4XX`). */
const GENERIC_4XX = new Set([400, 401, 404, 409, 413, 415, 422, 429]);
/** Routes that take no input and need no key; they are only checked never to fail. */
const PUBLIC_PREFIXES = ['/docs', '/openapi.json', '/healthz', '/readyz'];

const fixtureAgent: AgentDescriptor = fixtureAgentOf('critique', { workflowType: 'fixtureCritique' });
// Built at collection time: the operations to test come from the gateway's own document.
const h = await startApi({ rateLimitPerMinute: 1_000_000, agents: [fixtureAgent] });

afterAll(async () => {
  await h.close();
});

/**
 * One of everything a path or body can name, owned by the user: real rows (and a real run),
 * so the other user's ids are answered 404 only by a route that checks its owner. The walk
 * below fails for a kind of id a route takes that is not seeded here.
 */
async function idsOf(user: TestUser): Promise<Ids> {
  const caseId = await insertCase(h.database, user.id);
  const threadId = (await createThread(h.app, user, { caseId })).id;
  const posted = await call(h.app, user, { method: 'POST', url: `/v1/threads/${threadId}/messages`, payload: { content: 'hi' } });
  const [suggestion] = await h.database.db
    .insert(agentSuggestions)
    .values({ threadId, kind: 'agent', agentType: 'critique', confidence: 0.9, reason: 'a fixture', turn: 1 })
    .returning();
  const { document } = await storeDocument(h.database.db, {
    caseId, userId: user.id, source: 'upload', title: `notes of ${user.name}.txt`, contentType: 'text/plain', content: `The oven budget of ${user.name}.`,
  });
  const { evidence } = await storeEvidence(h.database.db, { caseId, userId: user.id, text: `A piece of evidence of ${user.name}.` });
  const [annotation] = await h.database.db
    .insert(briefAnnotations)
    .values({ caseId, source: 'brief', kind: 'unsupported-claim', causeKey: 'a fixture', sectionKey: 'key-claims', message: 'a fixture', createdInVersion: 0 })
    .returning();
  const [artifact] = await h.database.db
    .insert(artifacts)
    .values({ caseId, userId: user.id, kind: 'research', workflowId: `research-${caseId}-${randomUUID()}`, title: `research of ${user.name}` })
    .returning();
  const [inquiry] = await h.database.db.insert(inquiries).values({ caseId, userId: user.id, question: `What does ${user.name} ask?` }).returning();
  return {
    artifactId: artifact!.id,
    inquiryId: inquiry!.id,
    caseId,
    threadId,
    suggestionId: suggestion!.id,
    documentId: document.id,
    evidenceId: evidence.id,
    annotationId: annotation!.id,
    workflowId: posted.json().workflowId,
    messageIds: posted.json().message.id,
    agentType: fixtureAgent.type,
    // A maintenance job (admin): one with a dry run, so every body the schema accepts starts it.
    job: 'signal-temperatures',
  };
}

/** Whether each id names a real thing of its user: a row of theirs, or (a workflow id) a run. */
async function ownedBy(user: TestUser, ids: Ids, kinds: string[]): Promise<Record<string, boolean>> {
  const { db } = h.database;
  const one = async (rows: Promise<unknown[]>) => (await rows).length === 1;
  const checks: Record<string, (id: string) => Promise<boolean>> = {
    caseId: (id) => one(db.select().from(cases).where(and(eq(cases.id, id), eq(cases.userId, user.id)))),
    threadId: (id) => one(db.select().from(threads).where(and(eq(threads.id, id), eq(threads.userId, user.id)))),
    documentId: (id) => one(db.select().from(documents).where(and(eq(documents.id, id), eq(documents.userId, user.id)))),
    suggestionId: (id) =>
      one(db.select().from(agentSuggestions).innerJoin(threads, eq(threads.id, agentSuggestions.threadId)).where(and(eq(agentSuggestions.id, id), eq(threads.userId, user.id)))),
    evidenceId: (id) => one(db.select().from(evidenceTable).where(and(eq(evidenceTable.id, id), eq(evidenceTable.userId, user.id)))),
    messageIds: (id) => one(db.select().from(messages).innerJoin(threads, eq(threads.id, messages.threadId)).where(and(eq(messages.id, id), eq(threads.userId, user.id)))),
    annotationId: (id) =>
      one(db.select().from(briefAnnotations).innerJoin(cases, eq(cases.id, briefAnnotations.caseId)).where(and(eq(briefAnnotations.id, id), eq(cases.userId, user.id)))),
    artifactId: (id) => one(db.select().from(artifacts).where(and(eq(artifacts.id, id), eq(artifacts.userId, user.id)))),
    inquiryId: (id) => one(db.select().from(inquiries).where(and(eq(inquiries.id, id), eq(inquiries.userId, user.id)))),
    workflowId: async (id) => (await h.env.client.workflow.getHandle(id).describe()).searchAttributes.UserId?.[0] === user.id,
  };
  const owned: Record<string, boolean> = {};
  // A kind with no check here is not known to be real: add its check.
  for (const kind of kinds) owned[kind] = ids[kind] !== undefined && (await checks[kind]?.(ids[kind]!)) === true;
  return owned;
}

interface OpenApiOperation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
}

const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, OpenApiOperation>> }>();
const operations: Operation[] = Object.entries(doc.paths)
  .filter(([path]) => !PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix)))
  .flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: op.requestBody?.content?.['application/json']?.schema,
      responses: Object.keys(op.responses ?? {}),
    })),
  );

const alice = await idsOf(h.alice);
const bob = await idsOf(h.bob);

const tables = (await h.database.sql<{ name: string }[]>`
  select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`).map((t) => t.name);
const countQuery = `select ${tables.map((t) => `(select count(*) from "${t}")::int as "${t}"`).join(', ')}`;
const countRows = async (): Promise<Record<string, number>> => (await h.database.sql.unsafe(countQuery))[0] as Record<string, number>;

function documented(op: Operation, status: number): boolean {
  return op.responses.includes(String(status)) || (op.responses.includes('4XX') && GENERIC_4XX.has(status));
}

/** Admin routes answer 403 to other keys: their cases are sent by an admin (bob), and an intruder's 404 does not apply. */
function contextFor(op: Operation): { owner: TestUser; intruder: TestUser; context: CaseContext } {
  const adminOnly = op.responses.includes('403');
  const [owner, intruder] = adminOnly ? [h.bob, h.alice] : [h.alice, h.bob];
  const ids = (user: TestUser) => (user === h.alice ? alice : bob);
  return { owner, intruder, context: { owner: ids(owner), intruder: ids(intruder), bodyLimit: TEST_BODY_LIMIT, foreignIds: !adminOnly } };
}

/** A stream that accepted a hostile request would never end: fail it instead of hanging the file. */
async function send(op: Operation, c: HostileCase, users: { owner: TestUser; intruder: TestUser }) {
  const url = op.path.replace(/\{(\w+)\}/g, (_match, name: string) => c.path[name]!) + (c.query ? `?${c.query}` : '');
  const headers = { ...(c.body ? { 'content-type': c.body.contentType } : {}), ...c.headers };
  const request = { method: op.method as 'GET', url, headers, ...(c.body ? { payload: c.body.payload } : {}) };
  const options = c.sender === 'anonymous' ? request : as(c.sender === 'owner' ? users.owner : users.intruder, request);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000)));
  return Promise.race([h.app.inject(options), timeout]).finally(() => clearTimeout(timer));
}

/** What is wrong with the answer to one case; empty when nothing is. */
async function problemsOf(op: Operation, c: HostileCase, users: { owner: TestUser; intruder: TestUser }): Promise<string[]> {
  const before = await countRows();
  const res = await send(op, c, users);
  const after = await countRows();
  const problems: string[] = [];
  const body = String(res.headers['content-type'] ?? '').includes('json') ? res.json<{ field?: string; message?: string; code?: string }>() : {};
  if (!c.expect.statuses.includes(res.statusCode)) problems.push(`answered ${res.statusCode}, expected ${c.expect.statuses.join(' or ')}: ${res.body.slice(0, 300)}`);
  if (!documented(op, res.statusCode)) problems.push(`answered ${res.statusCode}, which the operation does not document`);
  if (res.statusCode === 400 && c.expect.field !== undefined && body.field !== c.expect.field && !body.message?.includes(c.expect.field)) {
    problems.push(`a 400 that does not name ${JSON.stringify(c.expect.field)}: ${res.body.slice(0, 300)}`);
  }
  if (c.expect.code !== undefined && body.code !== c.expect.code) problems.push(`code ${body.code}, expected ${c.expect.code}`);
  const changed = tables.filter((t) => before[t] !== after[t]).map((t) => `${t} ${before[t]} → ${after[t]}`);
  if (changed.length > 0) problems.push(`rows written: ${changed.join(', ')}`);
  return problems.map((p) => `${c.label}: ${p}`);
}

describe('the walk', () => {
  it('finds the routes of API.md that exist, each with its cases', () => {
    const names = operations.map((op) => `${op.method} ${op.path}`);
    for (const expected of ['POST /v1/cases', 'GET /v1/threads', 'POST /v1/threads/{threadId}/case', 'POST /v1/cases/{caseId}/agents/{agentType}', 'GET /v1/events',
      'GET /v1/cases/{caseId}/brief', 'POST /v1/cases/{caseId}/brief/annotations/{annotationId}/resolve', 'GET /v1/evidence/{evidenceId}']) {
      expect(names).toContain(expected);
    }
    // Beyond the two without a key, every input an operation documents yields cases of its own.
    for (const op of operations.filter((o) => o.parameters.length > 0 || o.body)) {
      expect(hostileCases(op, contextFor(op).context).length, `${op.method} ${op.path}`).toBeGreaterThan(2);
    }
  });

  it("has a real row of each user for every kind of id a route takes, so another user's id is one", async () => {
    const kinds = [...new Set(operations.flatMap(idNames))].sort();
    expect(kinds).toEqual(expect.arrayContaining(['caseId', 'documentId', 'messageIds', 'suggestionId', 'threadId', 'workflowId']));
    for (const kind of kinds) {
      expect([alice[kind], bob[kind]].every((id) => typeof id === 'string'), `no ${kind} seeded for each user (idsOf)`).toBe(true);
      expect(alice[kind], kind).not.toBe(bob[kind]);
    }
    const all = Object.fromEntries(kinds.map((k) => [k, true]));
    expect(await ownedBy(h.alice, alice, kinds)).toEqual(all);
    expect(await ownedBy(h.bob, bob, kinds)).toEqual(all);
  });
});

describe('the ids it sends', () => {
  it("gives every id in a path a real one of each user, so another user's ids are real ones, not random", () => {
    const names = new Set(operations.flatMap((op) => op.parameters.filter((p) => p.in === 'path' && p.schema.format === 'uuid').map((p) => p.name)));
    expect(names).toContain('evidenceId');
    for (const name of names) {
      expect(alice[name], name).toBeDefined();
      expect(bob[name], name).toBeDefined();
    }
  });
});

describe.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))('%s', (_name, op) => {
  it('answers every hostile case with its documented 4xx, names the field, and writes nothing', async () => {
    const { owner, intruder, context } = contextFor(op);
    const problems: string[] = [];
    const cases = hostileCases(op, context);
    // To see what was generated: HOSTILE_DUMP=1 npx vitest run test/api/hostile-input.test.ts
    if (process.env.HOSTILE_DUMP) console.log(`${op.method} ${op.path}: ${cases.length}\n  ${cases.map((c) => c.label).join('\n  ')}`);
    for (const c of cases) problems.push(...(await problemsOf(op, c, { owner, intruder })));
    expect(problems).toEqual([]);
  });
});

describe('routes that take no input', () => {
  it('never fail, whatever they are sent', async () => {
    const junk = ['?x=%00', '?x=%FF', '?limit=1e308&limit=-1', `?${'a'.repeat(100_000)}=1`];
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/', '/docs/json']) {
      for (const query of ['', ...junk]) {
        for (const method of ['GET', 'POST'] as const) {
          const res = await h.app.inject({ method, url: `${path}${query}`, payload: method === 'POST' ? '{"x":' : undefined, headers: { 'content-type': 'application/json' } });
          expect(res.statusCode, `${method} ${path}${query.slice(0, 40)}`).toBeLessThan(500);
        }
      }
    }
  });
});
