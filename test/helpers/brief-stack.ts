/**
 * A worker for the brief's workflow tests: the real workflows and activities on the file's
 * database and queues, with a script per case around the evolution activity (delay it, fail
 * it, commit then fail) and a model whose `brief` call hangs, until aborted, for cases whose
 * title is in `hanging`. Changes are sent the one way producers send them
 * (`signalBriefChanged`), with tiny windows through the input.
 */
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { signalBriefChanged } from '../../activities/briefs/client.js';
import { createLocalLlm, type Llm } from '../../activities/llm/llm.js';
import type { BriefConfig } from '../../workers/config.js';
import type { BriefChange, EvolveBriefInput, EvolveCaseBriefRequest, QueueNames } from '../../workflows/types.js';
import { seedUser } from './chat.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startTestWorkers, type RunningWorkers } from './stack.js';
import { connectTestEnv, testQueues } from './temporal.js';

export interface EvolutionScript {
  /** Before each attempt (1-based): may wait or throw. */
  before?: (attempt: number, req: EvolveCaseBriefRequest) => Promise<void>;
  /** Attempts that commit, then throw (a worker dying before it reports). */
  commitThenThrow?: Set<number>;
}

export interface BriefStack {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  client: Client;
  queues: QueueNames;
  userId: string;
  /** By case id. */
  scripts: Map<string, EvolutionScript>;
  /** Evolution attempts by case id. */
  attempts: Map<string, number>;
  /** Case titles whose `brief` model call hangs until aborted; `aborted` lists those that were. */
  hanging: Set<string>;
  aborted: string[];
  tell(caseId: string, change: BriefChange, windows: BriefConfig, overrides?: Partial<EvolveBriefInput>): Promise<string>;
  close(): Promise<void>;
}

export const windows = (quietMs: number, maxWaitMs: number, idleCloseMs = 60_000): BriefConfig => ({
  debounceMs: quietMs, maxWaitMs, idleCloseMs, staleEvidenceDays: 180,
});

function hangingLlm(hanging: Set<string>, aborted: string[]): Llm {
  const local = createLocalLlm();
  return {
    ...local,
    async writeBrief(draft, call) {
      if (!hanging.has(draft.title)) return local.writeBrief(draft, call);
      await new Promise((_, reject) => call?.signal?.addEventListener('abort', () => {
        aborted.push(draft.title);
        reject(new Error('aborted'));
      }));
      throw new Error('unreachable');
    },
  };
}

export async function startBriefStack(label: string, feedWindows?: BriefConfig): Promise<BriefStack> {
  const [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
  const queues = testQueues(label);
  const scripts = new Map<string, EvolutionScript>();
  const attempts = new Map<string, number>();
  const hanging = new Set<string>();
  const aborted: string[] = [];
  const workers: RunningWorkers = await startTestWorkers({
    env, db: database.db, queues, llm: hangingLlm(hanging, aborted), brief: feedWindows,
    wrapActivities: (acts) => ({
      ...acts,
      async evolveCaseBrief(req) {
        const attempt = (attempts.get(req.caseId) ?? 0) + 1;
        attempts.set(req.caseId, attempt);
        const script = scripts.get(req.caseId);
        await script?.before?.(attempt, req);
        const result = await acts.evolveCaseBrief(req);
        if (script?.commitThenThrow?.delete(attempt)) throw new Error('the worker died after the evolution committed');
        return result;
      },
    }),
  });
  const userId = (await seedUser(database.db)).id;
  return {
    env, database, client: env.client, queues, userId, scripts, attempts, hanging, aborted,
    tell: (caseId, change, w, overrides) =>
      signalBriefChanged(env.client, { caseId, userId }, change, { queues, brief: w, deadline: Date.now() + 10_000, overrides }),
    async close() {
      await workers.stop();
      await env.teardown();
      await database.drop();
    },
  };
}
