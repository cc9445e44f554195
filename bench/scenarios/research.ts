/**
 * The research agent (issue 19) end to end on a real worker and the PostgreSQL server: runs of
 * `researchAgent` over a small case corpus, one at a time, with fakes of fixed latency: every
 * research model call (plan, extract, evaluate, synthesize: the `local` rules plus 50 ms) and
 * every search phase (the corpus search plus 50 ms). From each run's history: the time spent
 * outside activities as a share of the run (start to close, minus the activities' started →
 * completed intervals; goal ≤ 5 %), and the history's bytes; from the ledger: tokens per artifact.
 */
import { randomUUID } from 'node:crypto';
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

const LATENCY_MS = 50;
const DIMENSIONS = 64;
const wait = () => new Promise((r) => setTimeout(r, LATENCY_MS));
const PASSAGES = [
  'Bakery rents near Leeds station averaged 3500 pounds a month in March 2025, according to the letting agent.',
  'Leasing a deck oven costs 450 pounds a month over five years for a small bakery.',
  'Footfall near the station was 30 percent higher on Saturdays, a council survey of bakery customers found.',
  'Flour prices rose by 12 percent between March and June, compared with 4 percent a year earlier.',
];

function slowLlm(): Llm {
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

export const research: Scenario = {
  name: 'research',
  description: 'researchAgent runs with 50 ms model and search fakes: time outside activities, tokens per artifact, history bytes per run',
  async run({ harness, options }) {
    const [database] = await harness.databases();
    const { db, close } = createDb(database!.url);
    const queues = queueNames('bench-research-');
    const connection = await NativeConnection.connect({ address: harness.address });
    const client = new Client({ connection: await Connection.connect({ address: harness.address }) });
    const acts = createActivities({
      db, llm: slowLlm(), embedder: createLocalEmbedder(DIMENSIONS), temporal: client, clock: () => new Date(),
      config: { queues, chat: { redeliveryAfterMs: 30_000 }, research: { ...RESEARCH_DEFAULTS, maxIterations: 3 } },
    });
    const researchSearch: Activities['researchSearch'] = async (req) => (await wait(), acts.researchSearch(req));
    const workers = await createWorkers({
      connection, namespace: 'default', queues, kinds: QUEUE_KINDS, activities: { ...acts, researchSearch }, workflowBundle: harness.bundle, shutdownGraceMs: 1000,
    });
    const running = workers.map((w) => w.run());
    const result = emptyResult();
    try {
      const [user] = await db.insert(users).values({ name: `bench-research-${Date.now()}` }).returning();
      const runs = options.quick ? 3 : 10;
      const shares: number[] = [];
      const bytes: number[] = [];
      const tokens: number[] = [];
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
          const total = ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime);
          const started = new Map<string, number>();
          let inside = 0;
          for (const e of events) {
            if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), ms(e.eventTime));
            const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
            if (done) inside += ms(e.eventTime) - (started.get(String(done.scheduledEventId)) ?? ms(e.eventTime));
          }
          shares.push(total > 0 ? (total - inside) / total : 0);
          bytes.push(JSON.stringify(history).length);
        }
        const [spent] = await db.select({ n: sql<number>`coalesce(sum(${tokenLedger.promptTokens} + ${tokenLedger.completionTokens}), 0)::int` })
          .from(tokenLedger).where(eq(tokenLedger.workflowId, workflowId));
        tokens.push(spent?.n ?? 0);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const share = mean(shares);
      result.ratios.push({ label: 'research: time outside activities / run time (mean over runs)', value: share, goal: '≤ 0.05', met: share <= 0.05 });
      result.notes.push(
        { label: 'research runs (one at a time; 50 ms per model call and per search phase)', value: String(runs) },
        { label: 'research: time outside activities, min / max share', value: `${(Math.min(...shares) * 100).toFixed(1)} % / ${(Math.max(...shares) * 100).toFixed(1)} %` },
        { label: 'research: tokens per artifact (ledger, mean)', value: String(Math.round(mean(tokens))) },
        { label: 'research: history bytes per run (JSON, mean / max)', value: `${Math.round(mean(bytes))} / ${Math.max(...bytes)}` },
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
