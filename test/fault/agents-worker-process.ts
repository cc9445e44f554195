/**
 * The worker the agents fault tests run as a child process (`node --import tsx
 * test/fault/agents-worker-process.ts`): the real workers and activities on the usual
 * environment (TEMPORAL_ADDRESS, DATABASE_URL, CASEWORK_QUEUE_PREFIX, SIGNAL_EXTRACTION_*...),
 * the workflow bundle read from FAULT_WORKFLOW_BUNDLE (the test writes it: the production
 * workflows and the fixture agent), and one fault: FAULT_HOLD_AFTER=`activity[@prefix]:ms,...`
 * makes each named activity wait that long after it returned (its work committed), so a kill
 * lands between a commit and its report; with `@prefix`, only in runs whose workflow id starts
 * with it (one activity shared by two workflows held in one of them). It prints
 * `fault-worker ready` once its workers run.
 */
import { Context } from '@temporalio/activity';
import type { Activities } from '../../activities/index.js';
import { runFaultWorker, say } from './fault-worker.js';

interface Hold {
  name: string;
  workflowIdPrefix: string;
  ms: number;
}

const holds: Hold[] = (process.env.FAULT_HOLD_AFTER ?? '').split(',').filter(Boolean).map((spec) => {
  const [target, ms] = spec.split(':');
  const [name, workflowIdPrefix] = target!.split('@');
  return { name: name!, workflowIdPrefix: workflowIdPrefix ?? '', ms: Number(ms) };
});

function withHolds(acts: Activities): Activities {
  const wrapped: Record<string, unknown> = { ...acts };
  for (const name of new Set(holds.map((h) => h.name))) {
    const fn = acts[name as keyof Activities] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      const result = await fn(...args);
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
      const hold = holds.find((h) => h.name === name && workflowId.startsWith(h.workflowIdPrefix));
      if (hold) {
        say(`fault: ${name} committed in ${workflowId}, holding ${hold.ms} ms before it reports`);
        await new Promise((r) => setTimeout(r, hold.ms));
      }
      return result;
    };
  }
  return wrapped as Activities;
}

await runFaultWorker({ activities: withHolds });
