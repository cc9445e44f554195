/**
 * Bare Temporal on the same dev server: workflows of one and six no-op activities, started
 * and awaited by a client (no gateway, no database), one at a time and ~50 in flight.
 * The yardstick the other scenarios divide by (DESIGN.md Decision 13).
 */
import { NativeConnection } from '@temporalio/worker';
import type { Activities } from '../../activities/index.js';
import { queueNames } from '../../workers/config.js';
import { createWorkers } from '../../workers/worker.js';
import { sequentialLatency, sustainedRate } from '../load.js';
import { emptyResult, type Scenario } from '../scenario.js';
import { watchWorkflowTasks } from '../workflow-task-audit.js';

const SHAPES = { one: 'oneNoopActivity', six: 'sixNoopActivities' } as const;
type Shape = keyof typeof SHAPES;
const WORDS: Record<Shape, string> = { one: 'one no-op activity', six: 'six no-op activities in sequence' };

/** Row labels, exported so other scenarios can find the figures they compare against. */
export const bareLabels = {
  latency: (shape: Shape) => `bare: workflow with ${WORDS[shape]} (client start + await)`,
  rate: (shape: Shape) => `bare sustained: workflows with ${WORDS[shape]}`,
};

export const bare: Scenario = {
  name: 'bare',
  description: 'bare Temporal: workflows of one and six no-op activities, latency and sustained rate',
  async run({ harness, options }) {
    const queues = queueNames('bench-bare-');
    const connection = await NativeConnection.connect({ address: harness.address });
    // The same worker settings as casework's own, with nothing but the no-op activity.
    const [worker] = await createWorkers({
      connection, namespace: 'default', queues, kinds: ['chat'],
      activities: { benchNoop: async () => {} } as unknown as Activities, workflowBundle: harness.bundle, shutdownGraceMs: 1000,
    });
    const running = worker!.run();
    const runId = Date.now();
    const execute = (shape: Shape, id: string) =>
      harness.client.workflow.execute(SHAPES[shape], { taskQueue: queues.chat, workflowId: `bench-${shape}-${runId}-${id}` });
    const result = emptyResult();
    try {
      for (const shape of ['one', 'six'] as const) {
        const summary = await sequentialLatency(options.warmup, options.samples, (i) => execute(shape, `seq-${i}`));
        result.latency.push({ label: bareLabels.latency(shape), summary });
      }
      for (const shape of ['one', 'six'] as const) {
        const label = bareLabels.rate(shape);
        const watched = await watchWorkflowTasks(harness, label, [queues.chat], () =>
          sustainedRate(options.concurrency, options.rateSeconds, (lane, i) => execute(shape, `rate-${lane}-${i}`)));
        result.rates.push({ label, rate: watched.result });
        result.workflowTasks.push(watched.workflowTasks);
      }
    } finally {
      worker!.shutdown();
      await running;
      await connection.close();
    }
    return result;
  },
};
