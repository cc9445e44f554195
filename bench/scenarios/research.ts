/**
 * The research agent (issue 19) end to end on a real worker and the PostgreSQL server: runs of
 * `researchAgent` over a small case corpus, one at a time, with fakes of fixed latency: every
 * research model call (plan, extract, evaluate, synthesize: the `local` rules plus 50 ms, or
 * `--call-ms`) and every search phase (the corpus search plus as long). From each run's history:
 * the time spent outside activities as a share of the run (start to close, minus the
 * activities' started → completed intervals; goal ≤ 5 % at 50 ms) beside the same share for a
 * bare workflow of as many activities of that length (the floor), and the history's bytes; from
 * the ledger: tokens per artifact.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { eq, sql } from 'drizzle-orm';
import { startAgentRun } from '../../activities/agents/start.js';
import { createDb } from '../../activities/db/client.js';
import { cases, chunks, documents, tokenLedger, users } from '../../activities/db/schema/index.js';
import { createActivities, type Activities } from '../../activities/index.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import { createLocalEmbedder, hashEmbedding } from '../../activities/llm/local-embedder.js';
import { QUEUE_KINDS, queueNames, RESEARCH_DEFAULTS } from '../../workers/config.js';
import { createWorkers } from '../../workers/worker.js';
import { RESEARCH_AGENT } from '../../workflows/agents/catalog.js';
import { emptyResult, type Scenario } from '../scenario.js';

const DIMENSIONS = 64;
type Wait = () => Promise<void>;
const waitOf = (ms: number): Wait => () => new Promise((r) => setTimeout(r, ms));
const PASSAGES = [
  'Bakery rents near Leeds station averaged 3500 pounds a month in March 2025, according to the letting agent.',
  'Leasing a deck oven costs 450 pounds a month over five years for a small bakery.',
  'Footfall near the station was 30 percent higher on Saturdays, a council survey of bakery customers found.',
  'Flour prices rose by 12 percent between March and June, compared with 4 percent a year earlier.',
];

function slowLlm(wait: Wait): Llm {
  const local = createLocalLlm();
  return {
    ...local,
    planResearch: async (i, c) => (await wait(), local.planResearch(i, c)),
    extractFindings: async (i, c) => (await wait(), local.extractFindings(i, c)),
    evaluateResearch: async (i, c) => (await wait(), local.evaluateResearch(i, c)),
    synthesizeResearch: async (i, c) => (await wait(), local.synthesizeResearch(i, c)),
  };
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/** Each local activity's time (the worker's clock), summed per workflow run into `into`. */
function timingLocal(acts: Activities, into: Map<string, number>): Activities {
  const timed: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(acts) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    timed[name] = async (...args: unknown[]) => {
      const { isLocal, workflowExecution } = Context.current().info;
      const startedAt = performance.now();
      try {
        return await fn(...args);
      } finally {
        const runId = workflowExecution?.runId;
        if (isLocal && runId) into.set(runId, (into.get(runId) ?? 0) + performance.now() - startedAt);
      }
    };
  }
  return timed as unknown as Activities;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

/**
 * A run's time inside activities (started → completed or failed; a local activity's as the worker
 * timed it: its marker holds no usable start time), and the time outside by where it went:
 * the first workflow task (start → its completion), workflow tasks waiting for a worker
 * (scheduled → started) and being worked (started → completed), activities waiting for a
 * worker (scheduled → started), and the rest (an activity's completion reaching the server,
 * child starts).
 */
function timeOf(events: HistoryEvent[], localMs: number): { inside: number; parts: Record<string, number> } {
  const at = new Map<string, number>();
  const parts = { 'first workflow task': 0, 'workflow task queued': 0, 'workflow task worked': 0, 'activity queued': 0, rest: 0 };
  let inside = 0;
  let firstDone = false;
  for (const e of events) {
    const t = ms(e.eventTime);
    const id = String(e.eventId);
    if (e.workflowTaskScheduledEventAttributes || e.activityTaskScheduledEventAttributes) at.set(id, t);
    if (e.workflowTaskStartedEventAttributes) {
      at.set(id, t);
      if (firstDone) parts['workflow task queued'] += t - (at.get(String(e.workflowTaskStartedEventAttributes.scheduledEventId)) ?? t);
    }
    if (e.workflowTaskCompletedEventAttributes) {
      const bucket = firstDone ? 'workflow task worked' : 'first workflow task';
      parts[bucket] += t - (firstDone ? (at.get(String(e.workflowTaskCompletedEventAttributes.startedEventId)) ?? t) : ms(events[0]?.eventTime));
      firstDone = true;
    }
    if (e.activityTaskStartedEventAttributes) {
      const scheduled = String(e.activityTaskStartedEventAttributes.scheduledEventId);
      parts['activity queued'] += t - (at.get(scheduled) ?? t);
      at.set(`started:${scheduled}`, t);
    }
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) inside += t - (at.get(`started:${String(done.scheduledEventId)}`) ?? t);
  }
  // Local activities ran inside the workflow tasks that asked for them (their first included).
  inside += localMs;
  const fromLater = Math.min(localMs, parts['workflow task worked']);
  parts['workflow task worked'] -= fromLater;
  parts['first workflow task'] = Math.max(0, parts['first workflow task'] - (localMs - fromLater));
  const total = ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime);
  const named = Object.values(parts).reduce((a, b) => a + b, 0);
  parts.rest = Math.max(0, total - inside - named);
  return { inside, parts };
}

/**
 * The platform's floor for a run of `steps` phases, each its own activity: `sleepingActivities`
 * (bench/workflows.ts) runs that many activities of `--call-ms` one after the other and decides
 * nothing, so the time outside them is the server's and the SDK's own cost of each hand-over.
 */
async function floorShares(client: Client, taskQueue: string, steps: number, runs: number): Promise<number[]> {
  const shares: number[] = [];
  for (let i = 0; i < runs; i++) {
    const handle = await client.workflow.start('sleepingActivities', { taskQueue, workflowId: `bench-floor-${randomUUID()}`, args: [steps] });
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const total = ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime);
    shares.push(total > 0 ? (total - timeOf(events, 0).inside) / total : 0);
  }
  return shares;
}

export const research: Scenario = {
  name: 'research',
  description: 'researchAgent runs with model and search fakes of 50 ms (--call-ms): time outside activities, tokens per artifact, history bytes per run',
  async run({ harness, options }) {
    const [database] = await harness.databases();
    const { db, close } = createDb(database!.url);
    const queues = queueNames('bench-research-');
    const { callMs } = options;
    const wait = waitOf(callMs);
    const connection = await NativeConnection.connect({ address: harness.address });
    const client = new Client({ connection: await Connection.connect({ address: harness.address }) });
    const acts = createActivities({
      db, llm: slowLlm(wait), embedder: createLocalEmbedder(DIMENSIONS), temporal: client, clock: () => new Date(),
      config: { queues, chat: { redeliveryAfterMs: 30_000 }, research: { ...RESEARCH_DEFAULTS, maxIterations: 3 } },
    });
    const researchSearch: Activities['researchSearch'] = async (req) => (await wait(), acts.researchSearch(req));
    const localMs = new Map<string, number>();
    const workers = await createWorkers({
      connection, namespace: 'default', queues, kinds: QUEUE_KINDS, activities: { ...timingLocal({ ...acts, researchSearch }, localMs), benchSleep: wait } as Activities, workflowBundle: harness.bundle, shutdownGraceMs: 1000,
    });
    const running = workers.map((w) => w.run());
    const result = emptyResult();
    try {
      const [user] = await db.insert(users).values({ name: `bench-research-${Date.now()}` }).returning();
      const runs = options.quick ? 3 : 10;
      const shares: number[] = [];
      const bytes: number[] = [];
      const tokens: number[] = [];
      /** Where the time outside activities went, summed shares of each run (divided by the runs at the end). */
      const outside: Record<string, number> = {};
      let counted = 0;
      /** Activities each research run completed: the floor workflow runs as many. */
      const activities: number[] = [];
      for (let i = 0; i < runs; i++) {
        const [row] = await db.insert(cases).values({ userId: user!.id, title: `bench case ${i}` }).returning();
        const text = PASSAGES.join('\n\n');
        const [doc] = await db.insert(documents).values({
          caseId: row!.id, userId: user!.id, source: 'upload', title: 'notes', contentType: 'text/plain', contentHash: randomUUID(),
          content: text, extractedText: text, processingStatus: 'completed', chunkCount: PASSAGES.length,
        }).returning();
        await db.insert(chunks).values(PASSAGES.map((t, ordinal) => ({ documentId: doc!.id, caseId: row!.id, ordinal, text: t, tokenCount: 25, embedding: hashEmbedding(t, DIMENSIONS) })));
        const handed = await startAgentRun({ db, temporal: client, queues }, {
          descriptor: RESEARCH_AGENT, userId: user!.id, caseId: row!.id, topic: 'bakery rents, oven leasing and footfall near Leeds station', correlationId: randomUUID(),
        });
        const workflowId = handed.row.workflowId;
        await client.workflow.getHandle(workflowId).result();
        for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
          const history = await client.workflow.getHandle(workflowId, wf.runId).fetchHistory();
          const events = history.events ?? [];
          activities.push(events.filter((e) => e.activityTaskCompletedEventAttributes).length);
          const total = ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime);
          const { inside, parts } = timeOf(events, localMs.get(wf.runId) ?? 0);
          for (const [k, v] of Object.entries(parts)) outside[k] = (outside[k] ?? 0) + v / Math.max(1, total);
          counted += 1;
          shares.push(total > 0 ? (total - inside) / total : 0);
          bytes.push(JSON.stringify(history).length);
        }
        const [spent] = await db.select({ n: sql<number>`coalesce(sum(${tokenLedger.promptTokens} + ${tokenLedger.completionTokens}), 0)::int` })
          .from(tokenLedger).where(eq(tokenLedger.workflowId, workflowId));
        tokens.push(spent?.n ?? 0);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const share = mean(shares);
      const steps = Math.round(mean(activities));
      const floor = mean(await floorShares(client, queues.research, steps, runs));
      // The goal is the issue's, at its 50 ms calls; at other lengths the share is a note, not judged.
      if (callMs === 50) result.ratios.push({ label: 'research: time outside activities / run time (mean over runs)', value: share, goal: '≤ 0.05', met: share <= 0.05 });
      else result.notes.push({ label: 'research: time outside activities / run time (mean over runs; the ≤ 0.05 goal is set at 50 ms calls)', value: share.toFixed(3) });
      result.notes.push(
        { label: `research runs (one at a time; ${callMs} ms per model call and per search phase)`, value: String(runs) },
        {
          label: `floor: a bare workflow of ${steps} activities of ${callMs} ms one after the other (what research's runs completed), time outside activities`,
          value: `${(floor * 100).toFixed(1)} % (research: ${(share * 100).toFixed(1)} %, ${(share / Math.max(floor, 1e-9)).toFixed(2)}× the floor)`,
        },
        { label: 'research: time outside activities, min / max share', value: `${(Math.min(...shares) * 100).toFixed(1)} % / ${(Math.max(...shares) * 100).toFixed(1)} %` },
        { label: 'research: tokens per artifact (ledger, mean)', value: String(Math.round(mean(tokens))) },
        { label: 'research: history bytes per run (JSON, mean / max)', value: `${Math.round(mean(bytes))} / ${Math.max(...bytes)}` },
        {
          label: 'research: time outside activities by where it went (mean share of the run)',
          value: Object.entries(outside).map(([k, v]) => `${k} ${((v / Math.max(1, counted)) * 100).toFixed(1)} %`).join('; '),
        },
      );
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await connection.close();
      await client.connection.close();
      await close();
    }
    return result;
  },
};
