/**
 * Attaching a thread to a case reaches its running conversation (issue 12): with a real
 * worker, the run upserts `CaseId`, and visibility finds the conversation by the case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseIdKey } from '../../workflows/search-attributes.js';
import { eventually, waitForAnswer } from '../helpers/chat.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { call, createThread, startApi, type ApiHarness } from './harness.js';

let h: ApiHarness;
let workers: RunningWorkers;

beforeAll(async () => {
  h = await startApi();
  workers = await startTestWorkers({ env: h.env, db: h.database.db, queues: h.queues });
});

afterAll(async () => {
  await workers?.stop();
  await h?.close();
});

describe('a running conversation joins a case', () => {
  it('upserts CaseId, so the case\'s runs list it, and keeps answering', async () => {
    const thread = await createThread(h.app, h.alice);
    const first = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'We must pick a vendor' } });
    expect(first.statusCode).toBe(202);
    await waitForAnswer(h.database.db, thread.id, first.json().message.id);
    const handle = h.env.client.workflow.getHandle(`chat-${thread.id}`);
    expect((await handle.describe()).typedSearchAttributes.get(caseIdKey)).toBeUndefined();

    const created = await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'Vendor' } });
    const caseId = created.json().id as string;
    const attached = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/case`, payload: { caseId } });
    expect(attached.statusCode).toBe(200);

    await eventually(
      async () => (await handle.describe()).typedSearchAttributes.get(caseIdKey),
      (value) => value === caseId,
    );
    const listed = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const run of h.env.client.workflow.list({ query: `CaseId = "${caseId}"` })) ids.push(run.workflowId);
        return ids;
      },
      (ids) => ids.includes(`chat-${thread.id}`),
    );
    expect(listed).toContain(`chat-${thread.id}`);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const second = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/messages`, payload: { content: 'And the budget?' } });
    const { reply } = await waitForAnswer(h.database.db, thread.id, second.json().message.id);
    expect(reply?.status).toBe('complete');
  });
});
