/**
 * What feeds the brief, on a real worker: signals extracted in a thread of a case (chat step 5)
 * and a thread attached to a case through the shared store both tell the case's brief, which
 * then evolves over the new signals.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachThreadToCase } from '../../activities/cases/attach.js';
import { threads } from '../../activities/db/schema/index.js';
import { workflowIds } from '../../workflows/types.js';
import { briefVersions, seedSignal } from '../helpers/briefs.js';
import { startBriefStack, windows, type BriefStack } from '../helpers/brief-stack.js';
import { eventually, seedThread, sendMessage, waitForAnswer } from '../helpers/chat.js';
import { seedCase } from '../helpers/documents.js';

const FEED_WINDOWS = windows(300, 2000);
let stack: BriefStack;

beforeAll(async () => {
  stack = await startBriefStack('brief-feeding', FEED_WINDOWS);
});
afterAll(() => stack?.close());

const claimsOf = async (caseId: string) => {
  const versions = await eventually(() => briefVersions(stack.database.db, caseId), (v) => v.length >= 1, 30_000);
  return versions.at(-1)!.sections.find((s) => s.key === 'key-claims')!.items.map((i) => i.text);
};

describe('feeding the brief', () => {
  it('signals extracted in a thread of a case tell its brief', async () => {
    const { db } = stack.database;
    const caseId = await seedCase(db, stack.userId);
    const thread = await seedThread(db, stack.userId, 'titled');
    await db.update(threads).set({ caseId }).where(eq(threads.id, thread.id));
    const options = { db, client: stack.client, queues: stack.queues, threadId: thread.id, userId: stack.userId };
    const sent = await sendMessage(options, 'We assume rents near the station are about 2000 pounds a month.');
    await waitForAnswer(db, thread.id, sent.id);
    expect(await claimsOf(caseId)).toEqual(['We assume rents near the station are about 2000 pounds a month.']);
    const [version] = await briefVersions(db, caseId);
    expect(version!.changes).toMatchObject({ counts: { 'signals-extracted': 1 }, sample: [{ kind: 'signals-extracted', id: thread.id }] });
  });

  it('a thread attached through the shared store tells the brief, which then holds the thread\'s signals', async () => {
    const { db } = stack.database;
    const caseId = await seedCase(db, stack.userId);
    const thread = await seedThread(db, stack.userId);
    await seedSignal(db, { caseId: null, threadId: thread.id, type: 'constraint', text: 'The budget must stay under 150k' });
    const target = { userId: stack.userId, threadId: thread.id, caseId };
    const attached = await attachThreadToCase(db, stack.client, target, { queues: stack.queues, brief: FEED_WINDOWS, deadline: Date.now() + 10_000 });
    expect(attached).toMatchObject({ thread: { id: thread.id, caseId }, conversation: 'no-run' });
    expect(await claimsOf(caseId)).toEqual(['The budget must stay under 150k']);
    const run = await stack.client.workflow.getHandle(workflowIds.evolveBrief(caseId)).describe();
    expect(run.type).toBe('evolveBrief');
    expect(await attachThreadToCase(db, stack.client, { ...target, caseId: await seedCase(db, stack.userId) }, { queues: stack.queues, deadline: Date.now() + 10_000 }))
      .toEqual({ problem: 'other-case' });
  });
});
