/**
 * evolveBrief when its evolution fails: an unreachable database is held (not an attempt), and
 * past the hold the changes wait for the next window; an attempt that committed and then died
 * is retried into the version it wrote (one version, one event); an error no retry heals is
 * tried once (the narrowed policy) and leaves its changes to the next evolution; a case that
 * is gone ends the run.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases } from '../../activities/db/schema/index.js';
import { workflowIds } from '../../workflows/types.js';
import { briefEvents, briefVersions } from '../helpers/briefs.js';
import { startBriefStack, windows, type BriefStack } from '../helpers/brief-stack.js';
import { eventually } from '../helpers/chat.js';
import { seedCase } from '../helpers/documents.js';

let stack: BriefStack;
const w = windows(200, 1000);
const unreachable = () => ApplicationFailure.retryable('the database is unreachable (ECONNREFUSED)', 'DatabaseUnavailable');
const change = () => ({ kind: 'evidence-added' as const, id: randomUUID() });

beforeAll(async () => {
  stack = await startBriefStack('evolve-brief-failures');
});
afterAll(() => stack?.close());

const versions = (caseId: string) => briefVersions(stack.database.db, caseId);

describe('an unreachable database', () => {
  it('holds the evolution (not one of its 3 attempts) until the database is back', async () => {
    const caseId = await seedCase(stack.database.db, stack.userId);
    // Three failures, then a fourth attempt: more than the policy's 3, held by the workflow's timers (1 s, 2 s, 4 s).
    stack.scripts.set(caseId, { before: async (attempt) => { if (attempt <= 3) throw unreachable(); } });
    await stack.tell(caseId, change(), w);
    const [first] = await eventually(() => versions(caseId), (v) => v.length === 1, 30_000);
    expect(stack.attempts.get(caseId)).toBe(4);
    expect(first!.changes).toMatchObject({ total: 1 });
  });

  it('past the hold, leaves the changes to the next window; the run goes on', async () => {
    const caseId = await seedCase(stack.database.db, stack.userId);
    let down = true;
    stack.scripts.set(caseId, { before: async () => { if (down) throw unreachable(); } });
    await stack.tell(caseId, change(), w, { outageHoldMs: 1500 });
    // Held 1 s, then once more at the deadline: two attempts, then the evolution gives up.
    await eventually(async () => stack.attempts.get(caseId) ?? 0, (n) => n >= 2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await versions(caseId)).toEqual([]);
    const handle = stack.client.workflow.getHandle(workflowIds.evolveBrief(caseId));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    down = false;
    await stack.tell(caseId, change(), w);
    const [first] = await eventually(() => versions(caseId), (v) => v.length === 1);
    expect(first!.changes).toMatchObject({ total: 2, counts: { 'evidence-added': 2 } });
  });
});

describe('retries', () => {
  it('retries an attempt that committed and died into the version it wrote: one version, one event', async () => {
    const caseId = await seedCase(stack.database.db, stack.userId);
    stack.scripts.set(caseId, { commitThenThrow: new Set([1]) });
    await stack.tell(caseId, change(), w);
    // The policy's 5 s between attempts.
    await eventually(async () => stack.attempts.get(caseId) ?? 0, (n) => n === 2, 20_000);
    await eventually(() => versions(caseId), (v) => v.length === 1);
    await new Promise((r) => setTimeout(r, 500));
    expect((await versions(caseId)).map((v) => v.version)).toEqual([1]);
    expect(await briefEvents(stack.database.db, caseId)).toHaveLength(1);
  });

  it('does not retry an error no retry heals; its changes join the next evolution', async () => {
    const caseId = await seedCase(stack.database.db, stack.userId);
    let broken = true;
    stack.scripts.set(caseId, {
      before: async () => { if (broken) throw ApplicationFailure.nonRetryable('the brief could not be evolved: a bug', 'BriefEvolutionFailed'); },
    });
    await stack.tell(caseId, change(), w);
    await eventually(async () => stack.attempts.get(caseId) ?? 0, (n) => n >= 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(stack.attempts.get(caseId)).toBe(1);
    broken = false;
    await stack.tell(caseId, change(), w);
    const [first] = await eventually(() => versions(caseId), (v) => v.length === 1);
    expect(first!.changes).toMatchObject({ total: 2 });
    expect(stack.attempts.get(caseId)).toBe(2);
  });
});

describe('a case that is gone', () => {
  it('ends its brief workflow', async () => {
    const caseId = await seedCase(stack.database.db, stack.userId);
    await stack.database.db.delete(cases).where(eq(cases.id, caseId));
    await stack.tell(caseId, change(), w);
    const handle = stack.client.workflow.getHandle(workflowIds.evolveBrief(caseId));
    await eventually(() => handle.describe(), (d) => d.status.name === 'COMPLETED');
    expect(stack.attempts.get(caseId)).toBe(1);
  });
});
