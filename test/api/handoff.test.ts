/**
 * The chat hand-off when signal-with-start's outcome is uncertain (issue 11, defect 8): a
 * failure after which the signal may have landed is retried (repeating it is safe) and,
 * still uncertain, answered 202 with the message left pending for the redelivery job.
 * Only a failure that certainly sent nothing fails the message.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../activities/db/schema/index.js';
import { call, createThread, startApi, type ApiHarness } from './harness.js';
import { channelShutDown, deadlineExceeded, faultyClient, grpcFailure, type FakeSignalOptions } from './fake-temporal.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApi();
});

afterAll(async () => {
  await h?.close();
});

const userMessages = (threadId: string) =>
  h.database.db.select().from(messages).where(and(eq(messages.threadId, threadId), eq(messages.role, 'user')));

/** The message ids of the `newMessage` signals the conversation received, in order. */
async function signalledMessageIds(workflowId: string): Promise<string[]> {
  const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((a) => a?.signalName === 'newMessage')
    .map((a) => (JSON.parse(Buffer.from(a!.input!.payloads![0]!.data!).toString()) as { messageId: string }).messageId);
}

async function post(options: FakeSignalOptions, content = 'hello') {
  const fake = faultyClient(h.env.client, options);
  const app = await h.buildSibling({ temporal: fake.client });
  const thread = await createThread(h.app, h.alice);
  const started = Date.now();
  const res = await call(app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content } });
  return { res, thread, attempts: fake.attempts(), tookMs: Date.now() - started };
}

describe('an ambiguous hand-off', () => {
  it('a signal that landed but answered DEADLINE_EXCEEDED is retried: 202, pending, one row, one message id', async () => {
    const { res, thread, attempts } = await post({ lands: () => true, failure: (n) => (n === 1 ? deadlineExceeded() : undefined) });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ workflowId: `chat-${thread.id}`, message: { status: 'pending', content: 'hello' } });
    expect(attempts).toBe(2);
    const rows = await userMessages(thread.id);
    expect(rows.map((m) => m.status)).toEqual(['pending']);
    // Both attempts reached the conversation, carrying the same message: it ignores the repeat.
    expect(await signalledMessageIds(`chat-${thread.id}`)).toEqual([rows[0]!.id, rows[0]!.id]);
  });

  it('still ambiguous after the bounded retries: 202 with the stored pending message, in bounded time', async () => {
    const { res, thread, attempts, tookMs } = await post({ lands: () => true, failure: () => deadlineExceeded() });
    expect(res.statusCode).toBe(202);
    const [row] = await userMessages(thread.id);
    expect(res.json().message).toMatchObject({ id: row!.id, status: 'pending' });
    expect(row).toMatchObject({ status: 'pending' });
    expect(row!.metadata).not.toHaveProperty('error');
    expect(attempts).toBe(3);
    expect(tookMs).toBeLessThan(5_000);
    expect(await userMessages(thread.id)).toHaveLength(1);
  });

  // Each of these may follow a request that reached the server (the SDK itself retries
  // UNAVAILABLE and RESOURCE_EXHAUSTED within the call), so none of them proves it did not.
  const ambiguous: [string, () => Error][] = [
    ['CANCELLED', () => grpcFailure(1, 'Cancelled on client')],
    ['UNAVAILABLE', () => grpcFailure(14, 'Connection dropped')],
    ['RESOURCE_EXHAUSTED', () => grpcFailure(8, 'namespace rate limit exceeded')],
    ['UNKNOWN', () => grpcFailure(2, 'stream reset')],
    ['an error that is no gRPC status', () => new Error('socket hang up')],
  ];
  for (const [label, failure] of ambiguous) {
    it(`${label} is ambiguous: retried, then 202 with the message pending`, async () => {
      const { res, thread, attempts } = await post({ lands: () => false, failure });
      expect(res.statusCode).toBe(202);
      expect(attempts).toBe(3);
      expect((await userMessages(thread.id)).map((m) => m.status)).toEqual(['pending']);
    });
  }
});

describe('a hand-off that certainly did not deliver', () => {
  it('a closed client: no retry, 503, the message failed', async () => {
    const { res, thread, attempts } = await post({ lands: () => false, failure: () => channelShutDown() });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ statusCode: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(attempts).toBe(1);
    expect((await userMessages(thread.id)).map((m) => m.status)).toEqual(['failed']);
  });

  it('a request the server rejected as such (INVALID_ARGUMENT): 500, the message failed', async () => {
    const { res, thread, attempts } = await post({ lands: () => false, failure: () => grpcFailure(3, 'search attribute invalid') });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ message: 'internal error', code: 'INTERNAL' });
    expect(attempts).toBe(1);
    expect((await userMessages(thread.id)).map((m) => m.status)).toEqual(['failed']);
  });

  it('a closed client after an ambiguous attempt: the first may have landed, so 202 and pending', async () => {
    const { res, thread, attempts } = await post({ lands: (n) => n === 1, failure: (n) => (n === 1 ? deadlineExceeded() : channelShutDown()) });
    expect(res.statusCode).toBe(202);
    expect(attempts).toBe(2);
    expect((await userMessages(thread.id)).map((m) => m.status)).toEqual(['pending']);
  });

  it('never fails a message that is no longer pending (the redelivery got it through meanwhile)', async () => {
    const completeIt = async ({ messageId }: { messageId: string }) => {
      await h.database.db.update(messages).set({ status: 'complete' }).where(eq(messages.id, messageId));
    };
    const { res, thread } = await post({ lands: () => false, failure: () => channelShutDown(), beforeFailing: completeIt });
    expect(res.statusCode).toBe(202);
    expect(res.json().message).toMatchObject({ status: 'complete' });
    expect((await userMessages(thread.id)).map((m) => m.status)).toEqual(['complete']);
  });
});
