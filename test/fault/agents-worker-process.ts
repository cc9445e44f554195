/**
 * The worker the agents fault test runs as a child process (`node --import tsx
 * test/fault/agents-worker-process.ts`): the real workers and activities on the usual
 * environment (TEMPORAL_ADDRESS, DATABASE_URL, CASEWORK_QUEUE_PREFIX, SIGNAL_EXTRACTION_*...),
 * the workflow bundle read from FAULT_WORKFLOW_BUNDLE (the test writes it: the production
 * workflows and the fixture agent), and one fault: FAULT_HOLD_AFTER=`activity:ms,...` makes each
 * named activity wait that long after it returned (its work committed), so a kill lands between
 * a commit and its report. It prints `fault-worker ready` once its workers run.
 */
import type { Activities } from '../../activities/index.js';
import { runFaultWorker, say } from './fault-worker.js';

const holds = new Map((process.env.FAULT_HOLD_AFTER ?? '').split(',').filter(Boolean).map((pair) => {
  const [name, ms] = pair.split(':');
  return [name!, Number(ms)] as const;
}));

function withHolds(acts: Activities): Activities {
  const wrapped: Record<string, unknown> = { ...acts };
  for (const [name, ms] of holds) {
    const fn = acts[name as keyof Activities] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      const result = await fn(...args);
      say(`fault: ${name} committed, holding ${ms} ms before it reports`);
      await new Promise((r) => setTimeout(r, ms));
      return result;
    };
  }
  return wrapped as Activities;
}

await runFaultWorker({ activities: withHolds });
