/**
 * Fault test (issue 16; evidence since issue 17): a gateway process killed after a route
 * committed its effect and before its answer was stored or sent (`FAULT_EXIT_AFTER_COMMIT=1`:
 * api/server.ts makes the process SIGKILL itself there). The client retries with the same `Idempotency-Key` on a
 * fresh gateway once the dead claim is stale (`IDEMPOTENCY_STALE_MS`): it must get the answer
 * of what the first request committed, and the table must hold that one row, not two.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cases, documents, evidence, messages, threads } from '../../activities/db/schema/index.js';
import { createUserWithKey } from '../../api/auth.js';
import { stopChild } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { uniqueId } from '../helpers/temporal.js';
import { post, startGateway, type Gateway } from './gateway.js';

const STALE_MS = 1_000;

describe('a gateway killed between the route\'s commit and its answer', () => {
  let database: TestDatabase;
  let user: { userId: string; key: string };
  const prefix = `${uniqueId('fault-idem')}-`;
  const gateways: Gateway[] = [];

  async function startOne(name: string, faults: NodeJS.ProcessEnv = {}): Promise<Gateway> {
    const env = { IDEMPOTENCY_STALE_MS: String(STALE_MS), ...faults };
    const gateway = await startGateway(name, { databaseUrl: database.url, temporalAddress: inject('temporalAddress'), queuePrefix: prefix, env });
    gateways.push(gateway);
    return gateway;
  }

  const postAs = (gateway: Gateway, path: string, body: unknown, key?: string) => post(gateway, user.key, path, body, key);

  beforeAll(async () => {
    database = await createTestDatabase();
    user = await createUserWithKey(database.db, { name: uniqueId('crash-user'), admin: false });
  });

  afterAll(async () => {
    for (const g of gateways) await stopChild(g.child, 5_000);
    await database?.drop();
  });

  it('answers the retry with what the first request committed, and holds one message, thread, case, document and item', async () => {
    const routes = (threadId: string, caseId: string) => [
      { label: 'message', path: `/v1/threads/${threadId}/messages`, body: { content: 'Once, whatever the gateway does.' } },
      { label: 'thread', path: '/v1/threads', body: { title: uniqueId('crash-thread') } },
      { label: 'case', path: '/v1/cases', body: { title: uniqueId('crash-case') } },
      { label: 'document', path: `/v1/cases/${caseId}/documents`, body: { title: 'Notes', contentType: 'text/plain', content: 'Quokkas near the ferry.' } },
      { label: 'evidence', path: `/v1/cases/${caseId}/evidence`, body: { text: 'Quokkas were counted near the ferry at dawn.' } },
    ];
    const [fresh, ...crashing] = await Promise.all([
      startOne('gateway (fresh)'),
      ...[1, 2, 3, 4, 5].map((n) => startOne(`gateway (crashes #${n})`, { FAULT_EXIT_AFTER_COMMIT: '1' })),
    ]);
    const thread = await postAs(fresh!, '/v1/threads', { title: 'the chat' });
    const theCase = await postAs(fresh!, '/v1/cases', { title: 'the case' });
    const plan = routes(thread.body.id as string, theCase.body.id as string);

    const retries = await Promise.all(
      plan.map(async (route, i) => {
        const key = randomUUID();
        const gateway = crashing[i]!;
        const first = await postAs(gateway, route.path, route.body, key).then(
          (a) => `answered ${a.status}`,
          (err: unknown) => `failed: ${String((err as Error).cause ?? err)}`,
        );
        expect(first, `${route.label}: the first request must die with its gateway`).toMatch(/^failed/);
        expect(await gateway.child.exited, `${route.label}: the gateway killed itself`).toBeNull();
        await new Promise((r) => setTimeout(r, STALE_MS + 200));
        return postAs(fresh!, route.path, route.body, key);
      }),
    );

    const [message, createdThread, createdCase, document, item] = retries.map((r) => r.body);
    const rows = {
      message: await database.db.select({ id: messages.id }).from(messages).where(eq(messages.threadId, thread.body.id as string)),
      thread: await database.db.select({ id: threads.id }).from(threads).where(and(eq(threads.userId, user.userId), eq(threads.title, plan[1]!.body.title as string))),
      case: await database.db.select({ id: cases.id }).from(cases).where(and(eq(cases.userId, user.userId), eq(cases.title, plan[2]!.body.title as string))),
      document: await database.db.select({ id: documents.id }).from(documents).where(eq(documents.caseId, theCase.body.id as string)),
      evidence: await database.db.select({ id: evidence.id }).from(evidence).where(eq(evidence.caseId, theCase.body.id as string)),
    };
    const seen = Object.fromEntries(plan.map((route, i) => [route.label, { status: retries[i]!.status, replayed: retries[i]!.replayed, rows: rows[route.label as keyof typeof rows].map((r) => r.id) }]));
    expect(seen).toEqual({
      message: { status: 202, replayed: true, rows: [(message!.message as { id: string }).id] },
      thread: { status: 201, replayed: true, rows: [createdThread!.id] },
      case: { status: 201, replayed: true, rows: [createdCase!.id] },
      document: { status: 202, replayed: true, rows: [(document!.document as { id: string }).id] },
      evidence: { status: 202, replayed: true, rows: [(item!.evidence as { id: string }).id] },
    });
  }, 120_000);
});
