/**
 * Settling a batch (activities/chat-settle.ts), called the way a retried workflow task
 * calls it: a batch answered a second time, now with more messages, answers exactly the
 * new ones, and every id of it ends settled (defect 1); concurrent attempts write one reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities, type Activities } from '../../activities/index.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import { storeUserMessage } from '../../api/chat-handoff.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { connectTestEnv, testQueues } from '../helpers/temporal.js';
import { byRole, seedThread, seedUser, threadMessages } from '../helpers/chat.js';
import { checkChatInvariants } from '../helpers/chat-invariants.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let acts: Activities;

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  acts = createActivities({
    db: database.db,
    llm: createLocalLlm(),
    embedder: createLocalEmbedder(16),
    temporal: env.client,
    config: { queues: testQueues('settle'), chat: { redeliveryAfterMs: 30_000 } },
    clock: () => new Date(),
  });
});

afterAll(async () => {
  await env?.teardown();
  await database?.drop();
});

async function burst(n: number) {
  const user = await seedUser(database.db);
  const thread = await seedThread(database.db, user.id, 'titled');
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) ids.push((await storeUserMessage(database.db, user.id, thread.id, `Message ${i}: we must decide.`)).message.id);
  return { threadId: thread.id, ids };
}

describe('generateReply settles by claiming', () => {
  it('a batch answered again with more messages answers only the new ones, and reports every id answered', async () => {
    const { threadId, ids } = await burst(5);
    const first = await acts.generateReply({ threadId, messageIds: ids.slice(0, 1), degradations: [] });
    expect(first.answered).toEqual(ids.slice(0, 1));
    const again = await acts.generateReply({ threadId, messageIds: ids, degradations: [] });
    expect(again.replyId).not.toBe(first.replyId);
    expect(again.answered.sort()).toEqual([...ids].sort());
    expect(again.skipped).toEqual([]);
    const rows = await threadMessages(database.db, threadId);
    const replies = byRole(rows, 'assistant');
    expect(replies.map((r) => r.metadata.answers)).toEqual([ids.slice(0, 1), ids.slice(1)]);
    expect((await checkChatInvariants(database.db, [threadId], { requireComplete: true })).violations).toEqual([]);

    const third = await acts.generateReply({ threadId, messageIds: ids, degradations: [] });
    expect(third.replyId).toBeNull();
    expect(byRole(await threadMessages(database.db, threadId), 'assistant')).toHaveLength(2);
  });

  it('concurrent attempts for the same batch write one reply', async () => {
    const { threadId, ids } = await burst(3);
    const attempts = await Promise.all(Array.from({ length: 4 }, () => acts.generateReply({ threadId, messageIds: ids, degradations: [] })));
    expect(attempts.filter((a) => a.replyId !== null)).toHaveLength(1);
    for (const a of attempts) expect(a.answered.sort()).toEqual([...ids].sort());
    expect(byRole(await threadMessages(database.db, threadId), 'assistant')).toHaveLength(1);
  });

  it('failReply settles only what is still open, and a later reply answers nothing twice', async () => {
    const { threadId, ids } = await burst(3);
    await acts.generateReply({ threadId, messageIds: ids.slice(0, 1), degradations: [] });
    const failed = await acts.failReply({ threadId, messageIds: ids, error: 'cancelled' });
    expect(failed.answered.sort()).toEqual([...ids].sort());
    const rows = await threadMessages(database.db, threadId);
    expect(byRole(rows, 'user').map((m) => m.status)).toEqual(['complete', 'failed', 'failed']);
    expect(byRole(rows, 'user')[1]!.metadata.error).toBe('cancelled');
    expect((await checkChatInvariants(database.db, [threadId])).violations).toEqual([]);
  });

  it('reports unknown ids as skipped, so the conversation does not wait for them', async () => {
    const { threadId, ids } = await burst(1);
    const unknown = crypto.randomUUID();
    const result = await acts.generateReply({ threadId, messageIds: [...ids, unknown], degradations: [] });
    expect(result.answered).toEqual(ids);
    expect(result.skipped).toEqual([unknown]);
  });
});
