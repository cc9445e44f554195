/**
 * A chat turn through the gateway, from the POST to the stored reply (sync mode, local
 * provider), for a running conversation and for a thread's first message, and the
 * sustained chat rate (one message in flight per thread), on each database; against bare.
 */
import { startChatStack, type ChatStack } from '../chat-stack.js';
import type { ModelCalls } from '../counting-models.js';
import { sequentialLatency, sustainedRate } from '../load.js';
import { emptyResult, ratio, type Scenario, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { watchWorkflowTasks } from '../workflow-task-audit.js';
import { bareLabels } from './bare.js';

const DATABASE_WORDS = { postgres: 'PostgreSQL server', embedded: 'embedded' } as const;
/** Threads the running-conversation samples rotate over, so each has finished its previous turn's after-reply work. */
const CONVERSATION_POOL = 20;
const say = (i: number) => `Our goal is to benchmark turn ${i}. We must keep it fast; we assume the rate holds.`;

/** Model calls keep coming after a reply (extraction, titles, embeddings): wait until they stop. */
async function settledCalls(stack: ChatStack): Promise<ModelCalls> {
  let last = JSON.stringify(stack.modelCalls());
  for (let quiet = 0, waited = 0; quiet < 2 && waited < 15_000; waited += 500) {
    await new Promise((r) => setTimeout(r, 500));
    const now = JSON.stringify(stack.modelCalls());
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  return stack.modelCalls();
}

/** Runs a phase and returns the model calls it caused per message sent, e.g. "reply 1.00, title 0.00". */
async function callsPerTurn(stack: ChatStack, phase: () => Promise<void>): Promise<string> {
  const [before, turnsBefore] = [await settledCalls(stack), stack.turnsSent()];
  await phase();
  const [after, turns] = [await settledCalls(stack), stack.turnsSent() - turnsBefore];
  const perTurn = Object.entries(after).map(([name, n]) => [name, (n - (before[name] ?? 0)) / turns] as const);
  const llm = perTurn.filter(([name]) => name !== 'embed').reduce((sum, [, v]) => sum + v, 0);
  return `${llm.toFixed(2)} LLM calls (${perTurn.map(([name, v]) => `${name} ${v.toFixed(2)}`).join(', ')}; embed is the embedder's), over ${turns} messages`;
}

/** Threads whose conversation is running: each has had its first message answered. */
async function runningThreads(stack: ChatStack, count: number): Promise<{ id: string }[]> {
  const threads = await Promise.all(Array.from({ length: count }, () => stack.createThread()));
  await Promise.all(threads.map((t, i) => stack.send(t.id, say(i))));
  return threads;
}

async function measureOn(stack: ChatStack, { harness, options }: ScenarioContext, result: ScenarioResult): Promise<void> {
  const on = `gateway, ${DATABASE_WORDS[stack.label]}`;
  const later = `chat turn, running conversation, ${on}`;
  const pool = await runningThreads(stack, CONVERSATION_POOL);
  result.notes.push({ label: `model calls per turn: ${later}`, value: await callsPerTurn(stack, async () => {
    const summary = await sequentialLatency(options.warmup, options.samples, (i) => stack.send(pool[i % pool.length]!.id, say(i)));
    result.latency.push({ label: later, summary });
  }) });

  const first = `chat turn, first message of a thread, ${on}`;
  result.notes.push({ label: `model calls per turn: ${first}`, value: await callsPerTurn(stack, async () => {
    // Threads are created beforehand: the timed part is the first message, which starts the conversation workflow.
    const fresh = await Promise.all(Array.from({ length: options.warmup + options.samples }, () => stack.createThread()));
    const summary = await sequentialLatency(options.warmup, options.samples, (i) => stack.send(fresh[i]!.id, say(i)));
    result.latency.push({ label: first, summary });
  }) });

  const rateLabel = `chat sustained: one message in flight per thread, ${on}`;
  // Steady state: the conversations run before the window opens (their first messages are the phase above's subject).
  const threads = await runningThreads(stack, options.concurrency);
  result.notes.push({ label: `model calls per turn: ${rateLabel}`, value: await callsPerTurn(stack, async () => {
    const watched = await watchWorkflowTasks(harness, rateLabel, stack.taskQueues, () =>
      sustainedRate(options.concurrency, options.rateSeconds, (lane, i) => stack.send(threads[lane]!.id, say(i))));
    result.rates.push({ label: rateLabel, rate: watched.result });
    result.workflowTasks.push(watched.workflowTasks);
  }) });
}

export const chat: Scenario = {
  name: 'chat',
  description: 'chat turn through the gateway (sync POST to stored reply) and sustained chat rate, PostgreSQL server and embedded',
  needs: ['bare'],
  async run(ctx) {
    const result = emptyResult();
    for (const database of await ctx.harness.databases()) {
      const stack = await startChatStack(ctx.harness, database);
      try {
        await measureOn(stack, ctx, result);
      } finally {
        await stack.stop();
      }
    }
    const bareResult = ctx.earlier.get('bare');
    const bareOne = bareResult?.latency.find((r) => r.label === bareLabels.latency('one'))?.summary.p50;
    const bareSix = bareResult?.rates.find((r) => r.label === bareLabels.rate('six'))?.rate.perSecond;
    for (const row of result.latency) if (bareOne) result.ratios.push(ratio(`p50: ${row.label} / bare one-activity workflow`, row.summary.p50 / bareOne, { atMost: 1.5 }));
    for (const row of result.rates) if (bareSix) result.ratios.push(ratio(`rate: ${row.label} / bare six-activity workflows`, row.rate.perSecond / bareSix, { atLeast: 0.8 }));
    return result;
  },
};
