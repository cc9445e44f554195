/**
 * `usage` in `GET /v1/workflows/:id` (Decision 17): the token ledger summed over every run
 * of the workflow id, by purpose; zeros for a run with no calls; nothing for anyone else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenLedger } from '../../activities/db/schema/index.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { uniqueId } from '../helpers/temporal.js';
import { call, startApi, type ApiHarness, type TestUser } from './harness.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApi();
});

afterAll(async () => {
  await h?.close();
});

/** A run nobody works on (no worker serves its queue): it stays RUNNING until terminated. */
async function startIdleRun(owner: TestUser): Promise<string> {
  const handle = await h.env.client.workflow.start('conversation', {
    taskQueue: uniqueId('no-worker'),
    workflowId: uniqueId('usage'),
    typedSearchAttributes: searchAttributes({ userId: owner.id }),
  });
  return handle.workflowId;
}

function ledgerRow(workflowId: string, runId: string, attempt: number, purpose: string, promptTokens: number, completionTokens: number) {
  // One activity per purpose: the key is (workflow, run, activity, attempt, call).
  return { workflowId, runId, activityId: purpose, attempt, purpose, provider: 'local', model: 'local', promptTokens, completionTokens, latencyMs: 3 };
}

describe('usage', () => {
  it('sums every run of the workflow id, by purpose, and nothing of other ids', async () => {
    const workflowId = await startIdleRun(h.alice);
    await h.database.db.insert(tokenLedger).values([
      ledgerRow(workflowId, 'an-earlier-run', 1, 'chatReply', 100, 20),
      ledgerRow(workflowId, 'an-earlier-run', 2, 'chatReply', 110, 25),
      ledgerRow(workflowId, 'the-latest-run', 1, 'chatReply', 50, 5),
      ledgerRow(workflowId, 'the-latest-run', 1, 'title', 30, 4),
      { ...ledgerRow(workflowId, 'the-latest-run', 1, 'signalExtraction', 7, 1), call: 1 },
      ledgerRow(`${workflowId}-other`, 'the-latest-run', 1, 'chatReply', 9_999, 9_999),
    ]);
    const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${workflowId}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().usage).toEqual({
      calls: 5,
      promptTokens: 297,
      completionTokens: 55,
      byPurpose: {
        chatReply: { calls: 3, promptTokens: 260, completionTokens: 50 },
        title: { calls: 1, promptTokens: 30, completionTokens: 4 },
        signalExtraction: { calls: 1, promptTokens: 7, completionTokens: 1 },
      },
    });
    await h.env.client.workflow.getHandle(workflowId).terminate();
  });

  it('is zeros for a run that made no calls, and not shown to anyone else', async () => {
    const workflowId = await startIdleRun(h.alice);
    const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${workflowId}` });
    expect(res.json().usage).toEqual({ calls: 0, promptTokens: 0, completionTokens: 0, byPurpose: {} });
    await h.database.db.insert(tokenLedger).values(ledgerRow(workflowId, 'run', 1, 'chatReply', 1, 1));
    const foreign = await call(h.app, h.bob, { method: 'GET', url: `/v1/workflows/${workflowId}` });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).not.toHaveProperty('usage');
    await h.env.client.workflow.getHandle(workflowId).terminate();
  });
});
