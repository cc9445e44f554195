/**
 * `GET /v1/workflows/:id/progress` (Decision 19) over real HTTP: rows arrive in order while
 * a client listens, `Last-Event-ID` resumes exactly after the last one seen (on another
 * gateway too), the stream follows continue-as-new run by run, ends with the run, pings
 * while idle, stops polling when the client leaves, and shows a run only to its owner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgress } from '../../activities/db/schema/index.js';
import { eventually } from '../helpers/chat.js';
import { call, countingDb, type ApiHarness, type TestUser } from './harness.js';
import { countingClient, progressCount, startProgressHarness, step, type ProgressHarness } from './progress-harness.js';
import { progressData } from './sse-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let p: ProgressHarness;
let h: ApiHarness;

beforeAll(async () => {
  p = await startProgressHarness({ pollIntervalMs: 100, heartbeatMs: 200 });
  h = p.h;
});

afterAll(async () => {
  await p?.close();
});

describe('a client listening', () => {
  it('gets rows inserted while it listens, in order, each with its own id, then the end with the status', async () => {
    const relay = await p.startRelay(h.alice);
    const runId = await p.latestRunId(relay.workflowId);
    await p.insertSteps(relay.workflowId, runId, [1, 2]);
    const stream = await p.listen(h.alice, relay.workflowId);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    await stream.waitFor(progressCount(2));
    await p.insertSteps(relay.workflowId, runId, [3]);
    await p.insertSteps(relay.workflowId, runId, [4, 5]);
    await stream.waitFor(progressCount(5));
    expect(progressData(stream)).toEqual([1, 2, 3, 4, 5].map((seq) => step(runId, seq)));
    const ids = stream.events().map((m) => m.id);
    expect(new Set(ids).size).toBe(5);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);

    await relay.terminate('done with the test');
    await stream.ended;
    const last = stream.events().at(-1)!;
    expect(last.event).toBe('end');
    expect(JSON.parse(last.data!)).toMatchObject({ status: 'TERMINATED' });
  });

  it('sends heartbeat comments while idle, and stops polling when the client leaves', async () => {
    const counted = countingDb(h.database.db);
    const gateway = await h.buildSibling({ db: counted.db });
    const relay = await p.startRelay(h.alice);
    const stream = await p.listen(h.alice, relay.workflowId, { app: gateway });
    await stream.waitFor((messages) => messages.filter((m) => m.comment === 'ping').length >= 2, 3_000);
    expect(stream.events()).toEqual([]);
    expect(counted.selects()).toBeGreaterThan(3);

    stream.close();
    await sleep(300);
    const afterLeaving = counted.selects();
    await sleep(600);
    expect(counted.selects()).toBe(afterLeaving);
    await relay.terminate();
  });
});

describe('what a stream costs', () => {
  it('describes a quiet run at growing intervals and a busy one not at all, and still sees it close', async () => {
    const counted = countingClient(h.env.client);
    const config = { pollIntervalMs: 100, heartbeatMs: 200, statusIntervalMs: 800 };
    const gateway = await h.buildSibling({ temporal: counted.client, config: { progress: config } });
    const relay = await p.startRelay(h.alice);
    const runId = await p.latestRunId(relay.workflowId);
    const stream = await p.listen(h.alice, relay.workflowId, { app: gateway });
    const quietMs = 3_000;
    await sleep(quietMs);
    const quiet = counted.describes();

    // Rows ten times faster than the polls, for 15 polls or more: every poll finds some, so none
    // describes. (On a loaded machine a poll may still come up empty between two rows, hence the slack.)
    const rows = 150;
    const busyStarted = Date.now();
    for (let seq = 1; seq <= rows; seq++) {
      await p.insertSteps(relay.workflowId, runId, [seq]);
      await sleep(config.pollIntervalMs / 10);
    }
    await stream.waitFor(progressCount(rows));
    const busy = counted.describes() - quiet;
    const busyPolls = Math.round((Date.now() - busyStarted) / config.pollIntervalMs);
    console.log(`[progress] describes: ${quiet} in ${quietMs} ms quiet (${((quiet * 1000) / quietMs).toFixed(1)}/s, polls ${1000 / config.pollIntervalMs}/s), ${busy} in ~${busyPolls} polls while ${rows} rows came`);
    // Describing on every poll would be ~30 and ~15 or more.
    expect(quiet).toBeLessThanOrEqual(8);
    expect(busy).toBeLessThanOrEqual(5);

    const closing = Date.now();
    await relay.terminate();
    await stream.ended;
    expect(Date.now() - closing).toBeLessThan(config.statusIntervalMs + 1_000);
    expect(stream.events().at(-1)).toMatchObject({ event: 'end' });
  });

  it('holds at most streamsPerUser streams per user open: the next is a 429 with Retry-After, until one closes', async () => {
    const capped = await h.buildSibling({ config: { progress: { pollIntervalMs: 100, heartbeatMs: 200, streamsPerUser: 2 } } });
    const url = (workflowId: string) => `/v1/workflows/${workflowId}/progress`;
    // A refused stream (unknown run) takes no slot.
    for (let i = 0; i < 3; i++) expect((await call(capped, h.alice, { method: 'GET', url: url('relay-unknown') })).statusCode).toBe(404);
    const [mine, bobs] = await Promise.all([p.startRelay(h.alice), p.startRelay(h.bob)]);
    const open = [await p.listen(h.alice, mine.workflowId, { app: capped }), await p.listen(h.alice, mine.workflowId, { app: capped })];
    expect(open.map((s) => s.status)).toEqual([200, 200]);

    const over = await p.listen(h.alice, mine.workflowId, { app: capped });
    expect(over.status).toBe(429);
    await over.ended;
    expect(JSON.parse(over.text())).toMatchObject({ statusCode: 429, code: 'TOO_MANY_STREAMS' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await p.listen(h.bob, bobs.workflowId, { app: capped })).status).toBe(200);

    open[0]!.close();
    const again = await eventually(
      async () => {
        const s = await p.listen(h.alice, mine.workflowId, { app: capped });
        if (s.status !== 200) s.close();
        return s;
      },
      (s) => s.status === 200,
      3_000,
    );
    expect(again.status).toBe(200);
    await Promise.all([mine.terminate(), bobs.terminate()]);
  });
});

describe('resuming with Last-Event-ID', () => {
  it('gets only the later rows, from another gateway after this one is gone', async () => {
    const relay = await p.startRelay(h.alice);
    const runId = await p.latestRunId(relay.workflowId);
    const first = await h.buildSibling({});
    await p.insertSteps(relay.workflowId, runId, [1, 2]);
    const before = await p.listen(h.alice, relay.workflowId, { app: first });
    await before.waitFor(progressCount(2));
    const lastSeen = before.events()[1]!.id!;
    // A gateway that shuts down ends its streams (no `end`: the run goes on) rather than waiting for the clients.
    const closing = Date.now();
    await first.close();
    await before.ended;
    expect(Date.now() - closing).toBeLessThan(5_000);
    expect(before.events().map((m) => m.event)).toEqual(['progress', 'progress']);

    await p.insertSteps(relay.workflowId, runId, [3, 4]);
    const restarted = await h.buildSibling({});
    const after = await p.listen(h.alice, relay.workflowId, { app: restarted, lastEventId: lastSeen });
    await after.waitFor(progressCount(2));
    await p.insertSteps(relay.workflowId, runId, [5]);
    await after.waitFor(progressCount(3));
    expect(progressData(after)).toEqual([3, 4, 5].map((seq) => step(runId, seq)));
    await relay.terminate();
    await after.ended;
  });

  it('replays a closed run after the id through inject too, ending with the status', async () => {
    const relay = await p.startRelay(h.alice);
    const runId = await p.latestRunId(relay.workflowId);
    await p.insertSteps(relay.workflowId, runId, [1, 2, 3]);
    await relay.terminate();
    const url = `/v1/workflows/${relay.workflowId}/progress`;
    const all = await call(h.app, h.alice, { method: 'GET', url });
    expect(all.statusCode).toBe(200);
    const ids = [...all.body.matchAll(/^id: (.+)\nevent: progress$/gm)].map((m) => m[1]);
    expect(ids).toHaveLength(3);
    expect(all.body).toMatch(/event: end\ndata: \{[^\n]*"status":"TERMINATED"/);
    const rest = await call(h.app, h.alice, { method: 'GET', url, headers: { 'last-event-id': ids[1]! } });
    expect([...rest.body.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!))).toEqual([step(runId, 3), { status: 'TERMINATED', runId }]);
  });
});

describe('a closed run', () => {
  it('answers 204, no body, to a reconnect that has every event, so an EventSource stops reconnecting', async () => {
    const relay = await p.startRelay(h.alice);
    const runId = await p.latestRunId(relay.workflowId);
    await p.insertSteps(relay.workflowId, runId, [1, 2]);
    await relay.terminate();
    const url = `/v1/workflows/${relay.workflowId}/progress`;
    const all = await call(h.app, h.alice, { method: 'GET', url });
    const ids = [...all.body.matchAll(/^id: (.+)\nevent: (\w+)$/gm)].map((m) => [m[2], m[1]]);
    expect(ids.map(([event]) => event)).toEqual(['progress', 'progress', 'end']);
    // The end carries the position after the last row, so a client that reconnects after it is told too.
    expect(ids[2]![1]).toBe(ids[1]![1]);
    const reconnect = await call(h.app, h.alice, { method: 'GET', url, headers: { 'last-event-id': ids[1]![1]! } });
    expect(reconnect.statusCode).toBe(204);
    expect(reconnect.body).toBe('');
    const earlier = await call(h.app, h.alice, { method: 'GET', url, headers: { 'last-event-id': ids[0]![1]! } });
    expect(earlier.statusCode).toBe(200);
    expect([...earlier.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(['progress', 'end']);
  });

  it('that wrote nothing: its end has an id all the same, and a reconnect with it is a 204', async () => {
    const relay = await p.startRelay(h.alice);
    await relay.terminate();
    const url = `/v1/workflows/${relay.workflowId}/progress`;
    const first = await call(h.app, h.alice, { method: 'GET', url });
    const endId = /^id: (.+)\nevent: end$/m.exec(first.body)?.[1];
    expect(endId, first.body).toBeDefined();
    expect((await call(h.app, h.alice, { method: 'GET', url, headers: { 'last-event-id': endId! } })).statusCode).toBe(204);
  });
});

describe('continue-as-new', () => {
  it('follows the workflow id run by run, never mixing in a run that is not in its chain', async () => {
    const relay = await p.startRelay(h.alice);
    const firstRun = await p.latestRunId(relay.workflowId);
    await p.insertSteps(relay.workflowId, firstRun, [1, 2]);
    await h.database.db.insert(runProgress).values({ workflowId: relay.workflowId, runId: `before-run-ids:${relay.workflowId}`, seq: 1, payload: { stray: true } });
    const stream = await p.listen(h.alice, relay.workflowId);
    await stream.waitFor(progressCount(2));
    const resumeFrom = stream.events()[0]!.id!;

    await relay.signal('nextRun');
    const secondRun = await eventually(() => p.latestRunId(relay.workflowId), (id) => id !== firstRun);
    await p.insertSteps(relay.workflowId, secondRun, [1, 2]);
    await stream.waitFor(progressCount(4));
    // Two more runs before anyone reads them: a reconnecting client gets every run's rows, not only the latest's.
    await relay.signal('nextRun');
    const thirdRun = await eventually(() => p.latestRunId(relay.workflowId), (id) => id !== secondRun);
    await p.insertSteps(relay.workflowId, thirdRun, [1]);
    await h.env.client.workflow.getHandle(relay.workflowId, thirdRun).signal('nextRun');
    const fourthRun = await eventually(() => p.latestRunId(relay.workflowId), (id) => id !== thirdRun);
    await p.insertSteps(relay.workflowId, fourthRun, [1]);

    const resumed = await p.listen(h.alice, relay.workflowId, { lastEventId: resumeFrom });
    await resumed.waitFor(progressCount(5));
    await stream.waitFor(progressCount(6));
    const expected = [step(firstRun, 2), step(secondRun, 1), step(secondRun, 2), step(thirdRun, 1), step(fourthRun, 1)];
    expect(progressData(resumed)).toEqual(expected);
    expect(progressData(stream)).toEqual([step(firstRun, 1), ...expected]);
    expect(new Set(stream.events().map((m) => m.id)).size).toBe(6);
    await relay.terminate();
    await Promise.all([stream.ended, resumed.ended]);
    expect(stream.events().at(-1)).toMatchObject({ event: 'end' });
  });
});

describe('who may listen', () => {
  it('answers 404 to anyone but the owner, admins included, and shows system runs to admins only', async () => {
    const mine = await p.startRelay(h.alice);
    const system = await p.startRelay();
    await Promise.all([mine.terminate(), system.terminate()]);
    const get = (user: TestUser, workflowId: string, headers: Record<string, string> = {}) =>
      call(h.app, user, { method: 'GET', url: `/v1/workflows/${workflowId}/progress`, headers });
    expect((await get(h.bob, mine.workflowId)).statusCode).toBe(404);
    expect((await get(h.alice, system.workflowId)).statusCode).toBe(404);
    expect((await get(h.alice, 'relay-unknown')).statusCode).toBe(404);
    const admin = await get(h.bob, system.workflowId);
    expect(admin.statusCode).toBe(200);
    expect(admin.body).toMatch(/event: end/);
    expect((await h.app.inject({ method: 'GET', url: `/v1/workflows/${mine.workflowId}/progress` })).statusCode).toBe(401);
  });

  it('answers 400 naming the header for a Last-Event-ID that is malformed or of another workflow', async () => {
    const relay = await p.startRelay(h.alice);
    const other = await p.startRelay(h.alice);
    const otherRun = await p.latestRunId(other.workflowId);
    await p.insertSteps(other.workflowId, otherRun, [1]);
    await other.terminate();
    const foreignId = /^id: (.+)$/m.exec((await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${other.workflowId}/progress` })).body)![1]!;
    for (const lastEventId of ['not-an-event-id', foreignId, 'x'.repeat(1000)]) {
      const res = await call(h.app, h.alice, { method: 'GET', url: `/v1/workflows/${relay.workflowId}/progress`, headers: { 'last-event-id': lastEventId } });
      expect(res.statusCode, lastEventId).toBe(400);
      expect(res.json().field).toMatch(/last-event-id/);
    }
    await relay.terminate();
  });
});
