/**
 * Accepting and declining suggestions: the accepted one starts what it asks for through the
 * one start (Decision 29): its agent_runs row and placeholder committed, then its run. No
 * worker: a started run is checked by describing it.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRuns, agentSuggestions } from '../../activities/db/schema/index.js';
import { agentTypeKey, correlationIdKey, threadIdKey, userIdKey } from '../../workflows/search-attributes.js';
import { CASE_DRAFT, STRUCTURE_AGENT_TYPE, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import { fixtureAgent } from '../fixtures/agents.js';
import { call, createThread, insertCase, startApi, type ApiHarness } from './harness.js';

/** A workflow type no worker runs: starting it is all the gateway does. */
const fixtureAgents: AgentDescriptor[] = [fixtureAgent('apitest', { workflowType: 'apiTestAgent', aliases: ['api_test_v1'] })];
let h: ApiHarness;
let threadId: string;
let caseId: string;
let turn = 0;

beforeAll(async () => {
  h = await startApi({ agents: fixtureAgents });
  caseId = await insertCase(h.database, h.alice.id);
  threadId = (await createThread(h.app, h.alice, { caseId })).id;
});

afterAll(async () => {
  await h?.close();
});

async function suggest(agentType: string, kind: 'agent' | 'structure' = 'agent', inThread = threadId): Promise<string> {
  const [row] = await h.database.db
    .insert(agentSuggestions)
    .values({ threadId: inThread, kind, agentType, confidence: 0.8, reason: 'because', turn: ++turn, topic: 'the lease' })
    .returning();
  return row!.id;
}

const url = (id: string, action: 'accept' | 'decline', inThread = threadId) => `/v1/threads/${inThread}/suggestions/${id}/${action}`;
/** The run an agent suggestion of the case thread starts: the catalog's template, the suggestion as correlation id. */
const agentRun = (id: string) => `agent-apitest-${caseId}-${id}`;

describe('accept', () => {
  it('starts the agent workflow with its search attributes and marks the suggestion accepted', async () => {
    const id = await suggest('api_test_v1');
    const res = await call(h.app, h.alice, { method: 'POST', url: url(id, 'accept') });
    expect(res.statusCode).toBe(202);
    const workflowId = agentRun(id);
    expect(res.json()).toEqual({ workflowId });
    const [run] = await h.database.db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId));
    expect(run).toMatchObject({ type: 'apitest', status: 'pending', suggestionId: id, threadId, caseId, correlationId: id });
    expect(run!.input).toMatchObject({ topic: 'the lease', threadId, caseId, placeholderMessageId: run!.placeholderMessageId });
    const description = await h.env.client.workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('apiTestAgent');
    expect(description.taskQueue).toBe(h.queues.research);
    expect(description.typedSearchAttributes.get(userIdKey)).toBe(h.alice.id);
    expect(description.typedSearchAttributes.get(threadIdKey)).toBe(threadId);
    expect(description.typedSearchAttributes.get(agentTypeKey)).toBe('apitest');
    expect(description.typedSearchAttributes.get(correlationIdKey)).toBe(id);
    const [row] = await h.database.db.select().from(agentSuggestions).where(eq(agentSuggestions.id, id));
    expect(row).toMatchObject({ status: 'accepted', workflowId, agentWorkflowId: workflowId });

    const listed = await call(h.app, h.alice, { method: 'GET', url: `/v1/threads/${threadId}/suggestions` });
    expect(listed.json().suggestions.find((x: { id: string }) => x.id === id)).toMatchObject({ workflowId, agentWorkflowId: workflowId, topic: 'the lease' });

    const again = await call(h.app, h.alice, { method: 'POST', url: url(id, 'accept') });
    expect(again.json()).toEqual({ workflowId });
    const status = await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${workflowId}` });
    expect(status.json()).toMatchObject({ workflowId, type: 'apiTestAgent', status: 'RUNNING' });
    const cancel = await call(h.app, h.alice, { method: 'POST', url: `/v1/workflows/${workflowId}/cancel` });
    expect(cancel.statusCode).toBe(202);
    const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
    expect((history.events ?? []).some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);
  });

  it('answers 409 when no workflow is registered for the type, and leaves it pending', async () => {
    const id = await suggest('unregistered');
    const res = await call(h.app, h.alice, { method: 'POST', url: url(id, 'accept') });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toContain('unregistered');
    const [row] = await h.database.db.select().from(agentSuggestions).where(eq(agentSuggestions.id, id));
    expect(row!.status).toBe('pending');
  });

  it('starts the case draft for a structure suggestion in a thread with no case, once it is registered', async () => {
    const caseless = (await createThread(h.app, h.alice)).id;
    const id = await suggest(STRUCTURE_AGENT_TYPE, 'structure', caseless);
    expect((await call(h.app, h.alice, { method: 'POST', url: url(id, 'accept', caseless) })).statusCode).toBe(409);
    const drafting = await h.buildSibling({ config: { agents: [...fixtureAgents, CASE_DRAFT] } });
    const res = await call(drafting, h.alice, { method: 'POST', url: url(id, 'accept', caseless) });
    expect(res.statusCode).toBe(202);
    expect(res.json().workflowId).toBe(`draft-case-${caseless}`);
    expect((await h.env.client.workflow.getHandle(res.json().workflowId).describe()).type).toBe('draftCaseWorkflow');
    // On a thread that has a case there is nothing to draft.
    const onCase = await suggest(STRUCTURE_AGENT_TYPE, 'structure');
    const refused = await call(drafting, h.alice, { method: 'POST', url: url(onCase, 'accept') });
    expect({ status: refused.statusCode, message: refused.json().message }).toEqual({ status: 409, message: expect.stringContaining('on a case already') });
  });
});

describe('accept and decline at once', () => {
  it('end with exactly one outcome, and a declined suggestion never starts its agent (many rounds)', async () => {
    const outcomes = { accepted: 0, declined: 0 };
    for (let round = 0; round < 20; round++) {
      const id = await suggest('apitest');
      const [accepted, declined] = await Promise.all([
        call(h.app, h.alice, { method: 'POST', url: url(id, 'accept') }),
        call(h.app, h.alice, { method: 'POST', url: url(id, 'decline') }),
      ]);
      const [row] = await h.database.db.select().from(agentSuggestions).where(eq(agentSuggestions.id, id));
      const run = h.env.client.workflow.getHandle(agentRun(id));
      const rows = await h.database.db.select().from(agentRuns).where(eq(agentRuns.workflowId, agentRun(id)));
      if (row!.status === 'accepted') {
        expect([accepted.statusCode, declined.statusCode]).toEqual([202, 409]);
        expect((await run.describe()).type).toBe('apiTestAgent');
        outcomes.accepted++;
      } else {
        expect(row!.status).toBe('declined');
        expect([accepted.statusCode, declined.statusCode]).toEqual([409, 200]);
        await expect(run.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
        expect(rows, 'a declined suggestion commits no run').toHaveLength(0);
        outcomes.declined++;
      }
    }
    expect(outcomes.accepted + outcomes.declined).toBe(20);
  });
});

describe('decline', () => {
  it('declines a pending suggestion (again: the same answer) and refuses to accept it afterwards', async () => {
    const id = await suggest('apitest');
    const res = await call(h.app, h.alice, { method: 'POST', url: url(id, 'decline') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'declined', decidedAt: expect.any(String) });
    expect((await call(h.app, h.alice, { method: 'POST', url: url(id, 'decline') })).statusCode).toBe(200);
    expect((await call(h.app, h.alice, { method: 'POST', url: url(id, 'accept') })).statusCode).toBe(409);
  });

  it('answers 404 for a suggestion of another thread and 400 for a bad id', async () => {
    const otherThread = (await createThread(h.app, h.alice)).id;
    const id = await suggest('apitest');
    const res = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${otherThread}/suggestions/${id}/decline` });
    expect(res.statusCode).toBe(404);
    const bad = await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${threadId}/suggestions/nope/decline` });
    expect(bad.json()).toMatchObject({ statusCode: 400, field: 'suggestionId' });
  });
});
