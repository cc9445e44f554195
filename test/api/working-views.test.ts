/**
 * The working views (issue 18, `refreshWorkingViews`) through the gateway: `GET /v1/cases`
 * carries each case's `overview` (documents, evidence, active signals by tier, contradictions,
 * latest brief version, `refreshedAt`) beside its live `counts`; `GET /v1/threads/:threadId/summary`
 * reads the thread view (zeros and `refreshedAt: null` before the view has seen the thread;
 * another user's thread 404). A dry run refreshes nothing; a refresh run twice gives the same
 * figures. And `POST /v1/admin/maintenance/:job`: 202 with `<prefix>manual-<job>-<timestamp>`,
 * the job run, 404 naming the known jobs, 403 to a key that is not an admin.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { briefs, documents, events, signals } from '../../activities/db/schema/index.js';
import type { refreshWorkingViews } from '../../workflows/index.js';
import type { CleanupOldEventsReport, RefreshWorkingViewsInput, RefreshWorkingViewsReport } from '../../workflows/types.js';
import { seedContradiction, seedEvidence, seedSignal } from '../helpers/briefs.js';
import { startTestWorkers, type RunningWorkers } from '../helpers/stack.js';
import { uniqueId } from '../helpers/temporal.js';
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

const db = () => h.database.db;

const refresh = (input: RefreshWorkingViewsInput = {}): Promise<RefreshWorkingViewsReport> =>
  h.env.client.workflow.execute<typeof refreshWorkingViews>('refreshWorkingViews', { workflowId: uniqueId('refresh'), taskQueue: h.queues.maintenance, args: [input] });

async function aliceCase(caseId: string) {
  const res = await call(h.app, h.alice, { method: 'GET', url: '/v1/cases?limit=500' });
  expect(res.statusCode).toBe(200);
  return (res.json().cases as { id: string; counts: { signals: number }; overview: Record<string, unknown> }[]).find((c) => c.id === caseId)!;
}

const summary = (threadId: string, user = h.alice) => call(h.app, user, { method: 'GET', url: `/v1/threads/${threadId}/summary` });

/** A case of alice's with two documents, three items, five signals by tier, a contradiction and two brief versions; a thread of it with signals. */
async function seededCase() {
  const created = await call(h.app, h.alice, { method: 'POST', url: '/v1/cases', payload: { title: 'the bakery' } });
  const caseId = created.json().id as string;
  const thread = await createThread(h.app, h.alice);
  expect((await call(h.app, h.alice, { method: 'POST', url: `/v1/threads/${thread.id}/case`, payload: { caseId } })).statusCode).toBe(200);
  for (const status of ['completed', 'failed'] as const) {
    await db().insert(documents).values({ caseId, userId: h.alice.id, source: 'upload', title: `d-${randomUUID()}`, contentType: 'text/plain', contentHash: randomUUID(), content: 'x', processingStatus: status });
  }
  const items = [];
  for (const status of ['completed', 'completed', 'failed'] as const) items.push(await seedEvidence(db(), { caseId, userId: h.alice.id, text: `item ${randomUUID()}`, status }));
  await seedContradiction(db(), { caseId, left: { kind: 'evidence', id: items[0]!.id }, right: { kind: 'evidence', id: items[1]!.id } });
  const tiers = [['goal', 'hot'], ['goal', 'hot'], ['risk', 'warm'], ['assumption', 'cold']] as const;
  for (const [type, temperature] of tiers) {
    const s = await seedSignal(db(), { caseId, threadId: thread.id, type, text: `${type} ${randomUUID()}` });
    await db().update(signals).set({ temperature }).where(eq(signals.id, s.id));
  }
  await seedSignal(db(), { caseId, threadId: thread.id, type: 'risk', text: `archived ${randomUUID()}`, status: 'archived' });
  await seedSignal(db(), { caseId: caseId, type: 'constraint', text: `the case's own ${randomUUID()}` }); // warm by default, no thread
  for (const version of [1, 2]) await db().insert(briefs).values({ caseId, version, sections: [], grounding: 0.5, evolutionKey: `k-${randomUUID()}` });
  return { caseId, threadId: thread.id };
}

describe('working views', () => {
  it('a case and a thread read zeros until a refresh, a dry run refreshes nothing, then the figures as of the refresh while counts stay live', async () => {
    const { caseId, threadId } = await seededCase();
    const zeros = { documents: 0, documentsCompleted: 0, evidence: 0, signalsByTier: { hot: 0, warm: 0, cold: 0 }, contradictions: 0, latestBriefVersion: null, refreshedAt: null };
    expect((await aliceCase(caseId)).overview).toEqual(zeros);
    const none = await summary(threadId);
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ threadId, signals: { active: 0, hot: 0, warm: 0, cold: 0, merged: 0, archived: 0, byType: {} }, lastSignalAt: null, refreshedAt: null });

    const dry = await refresh({ dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.views.map((v) => [v.view, v.refreshed])).toEqual([['case_overviews', false], ['thread_signal_summaries', false]]);
    expect((await aliceCase(caseId)).overview).toEqual(zeros);

    const report = await refresh();
    expect(report.views.map((v) => v.view)).toEqual(['case_overviews', 'thread_signal_summaries']);
    for (const v of report.views) {
      expect(v).toMatchObject({ refreshed: true, mode: process.env.DATABASE_URL ? 'concurrently' : 'plain' });
      expect(v.rows).toBeGreaterThan(0);
    }
    const listed = await aliceCase(caseId);
    expect(listed.overview).toEqual({
      documents: 2, documentsCompleted: 1, evidence: 2, signalsByTier: { hot: 2, warm: 2, cold: 1 }, contradictions: 1, latestBriefVersion: 2, refreshedAt: expect.any(String),
    });
    expect(listed.counts.signals).toBe(5);
    const read = await summary(threadId);
    expect(read.json()).toEqual({
      threadId, signals: { active: 4, hot: 2, warm: 1, cold: 1, merged: 0, archived: 1, byType: { goal: 2, risk: 1, assumption: 1 } },
      lastSignalAt: expect.any(String), refreshedAt: expect.any(String),
    });
    // Each view's rows carry the time of its own refresh, a moment apart.
    expect(Math.abs(Date.parse(read.json().refreshedAt) - Date.parse(listed.overview.refreshedAt as string))).toBeLessThan(60_000);

    // Live counts move at once; the overview waits for the next refresh.
    await seedSignal(db(), { caseId, threadId, type: 'question', text: `later ${randomUUID()}` });
    const later = await aliceCase(caseId);
    expect(later.counts.signals).toBe(6);
    expect(later.overview).toEqual(listed.overview);

    // Refreshing again: the same figures (and the new signal), a later refreshedAt.
    await refresh();
    const again = await aliceCase(caseId);
    expect(again.overview).toMatchObject({ signalsByTier: { hot: 2, warm: 3, cold: 1 }, documents: 2, latestBriefVersion: 2 });
    expect(Date.parse(again.overview.refreshedAt as string)).toBeGreaterThanOrEqual(Date.parse(listed.overview.refreshedAt as string));

    const reports = await db().select().from(events).where(and(eq(events.type, 'MAINTENANCE_REPORT'), isNull(events.userId)));
    expect(reports.filter((e) => e.payload.job === 'working-views-refresh').length).toBeGreaterThanOrEqual(3);
  });

  it("another user's thread is a 404, an unknown one too", async () => {
    const { threadId } = await seededCase();
    expect((await summary(threadId, h.bob)).statusCode).toBe(404);
    expect((await summary(randomUUID())).statusCode).toBe(404);
  });
});

describe('POST /v1/admin/maintenance/:job', () => {
  const prefix = () => h.queues.chat.slice(0, -'chat'.length);

  it('starts the job now as <prefix>manual-<job>-<timestamp> and answers 202 with its id', async () => {
    const res = await call(h.app, h.bob, { method: 'POST', url: '/v1/admin/maintenance/events-cleanup', payload: { dryRun: true } });
    expect(res.statusCode).toBe(202);
    const { workflowId } = res.json() as { workflowId: string };
    expect(workflowId).toMatch(new RegExp(`^${prefix()}manual-events-cleanup-\\d{8}T\\d{9}Z$`));
    const report: CleanupOldEventsReport = await h.env.client.workflow.getHandle(workflowId).result();
    expect(report.dryRun).toBe(true);

    const views = await call(h.app, h.bob, { method: 'POST', url: '/v1/admin/maintenance/working-views-refresh', payload: {} });
    expect(views.statusCode).toBe(202);
    const refreshed: RefreshWorkingViewsReport = await h.env.client.workflow.getHandle(views.json().workflowId).result();
    expect(refreshed).toMatchObject({ dryRun: false, views: [{ refreshed: true }, { refreshed: true }] });
  });

  it('an unknown job is a 404 naming the known ones; a key that is not an admin gets 403', async () => {
    const unknown = await call(h.app, h.bob, { method: 'POST', url: '/v1/admin/maintenance/vacuum', payload: {} });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toMatch(/events-cleanup.*working-views-refresh/);
    const forbidden = await call(h.app, h.alice, { method: 'POST', url: '/v1/admin/maintenance/events-cleanup', payload: {} });
    expect(forbidden.statusCode).toBe(403);
  });
});
