/**
 * A worker for a test file: the real workflows (or a test's own workflows index) and the
 * real activities over the file's own database and queues.
 */
import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkflowBundle } from '@temporalio/worker';
import { createActivities, type Activities, type ActivityConfig } from '../../activities/index.js';
import type { PoolDb } from '../../activities/db/client.js';
import type { Llm } from '../../activities/llm/llm.js';
import { createLocalLlm } from '../../activities/llm/llm.js';
import { createLocalEmbedder } from '../../activities/llm/local-embedder.js';
import type { Embedder } from '../../activities/llm/types.js';
import { parseSettingsOf } from '../../activities/documents/settings.js';
import { createParsePool } from '../../activities/parse/pool.js';
import { createSafeFetcher, type FetchConfig, type FetcherDeps } from '../../activities/web/fetcher.js';
import { loadConfig, QUEUE_KINDS, type BriefConfig } from '../../workers/config.js';
import { bundleWorkflows, createWorkers, defaultWorkflowsPath } from '../../workers/worker.js';
import type { QueueNames } from '../../workflows/types.js';
import { inject } from 'vitest';

const bundles = new Map<string, Promise<WorkflowBundle>>();

/** The production bundle the run wrote once (test/helpers/global-setup.ts); a fixture entry's, bundled once per file. */
export function testBundle(workflowsPath = defaultWorkflowsPath): Promise<WorkflowBundle> {
  let bundle = bundles.get(workflowsPath);
  if (!bundle) {
    bundle = workflowsPath === defaultWorkflowsPath
      ? readFile(inject('workflowBundlePath'), 'utf8').then((code) => ({ code }))
      : bundleWorkflows(workflowsPath);
    bundles.set(workflowsPath, bundle);
  }
  return bundle;
}

export interface TestWorkerOptions {
  env: TestWorkflowEnvironment;
  db: PoolDb;
  queues: QueueNames;
  llm?: Llm;
  embedder?: Embedder;
  workflowsPath?: string;
  /** How long a user message, a document or a piece of evidence stays pending before the redelivery job hands it over again. */
  redeliveryAfterMs?: number;
  /**
   * Chunk sizes and embedding batch of processDocument (small ones make many chunks of a short
   * text), and the parse pool's threads, deadline and test delay (`parseDelayMs`).
   */
  documents?: ActivityConfig['documents'];
  /**
   * The URL fetcher's config over the config module's defaults. A test that serves pages on
   * loopback allowlists it here, and only there: `{ allowPrivateRanges: ['127.0.0.0/8'], allowedPorts: [port] }`.
   */
  fetch?: Partial<FetchConfig>;
  /** The fetcher's resolver and connector (a test counts what it would connect to). */
  fetcherDeps?: FetcherDeps;
  /** The brief's windows an activity starts `evolveBrief` with (a signal extraction, an attach), and its stale age. */
  brief?: BriefConfig;
  /** The items and characters one signal extraction call reads (small ones make many batches of a short text). */
  signalExtraction?: ActivityConfig['signalExtraction'];
  /** Signal consolidation and temperatures (small batches make many transactions). */
  signalMaintenance?: ActivityConfig['signalMaintenance'];
  /** The research agent's defaults and web search (small rounds, stall and context limits in tests). */
  research?: ActivityConfig['research'];
  /** Replace or wrap activities (fault injection). */
  wrapActivities?: (acts: Activities) => Activities;
  /** The client activities reach Temporal with (fault injection around signals); default: the env's. */
  temporal?: Client;
}

export interface RunningWorkers {
  workers: Worker[];
  stop(): Promise<void>;
}

export async function startTestWorkers(options: TestWorkerOptions): Promise<RunningWorkers> {
  const fetchConfig: FetchConfig = { ...loadConfig({}).fetch, ...options.fetch };
  const fetcher = createSafeFetcher(fetchConfig, options.fetcherDeps);
  const parsePool = createParsePool(parseSettingsOf(options.documents));
  const acts = createActivities({
    db: options.db,
    llm: options.llm ?? createLocalLlm(),
    embedder: options.embedder ?? createLocalEmbedder(64),
    temporal: options.temporal ?? options.env.client,
    config: {
      queues: options.queues, chat: { redeliveryAfterMs: options.redeliveryAfterMs ?? 30_000 }, documents: options.documents, fetch: fetchConfig,
      redelivery: { afterMs: options.redeliveryAfterMs ?? 30_000 },
      brief: options.brief,
      signalExtraction: options.signalExtraction,
      signalMaintenance: options.signalMaintenance,
      research: options.research,
    },
    clock: () => new Date(),
    fetcher,
    parsePool,
  });
  const workers = await createWorkers({
    connection: options.env.nativeConnection,
    namespace: options.env.namespace ?? 'default',
    queues: options.queues,
    kinds: QUEUE_KINDS,
    activities: options.wrapActivities ? options.wrapActivities(acts) : acts,
    workflowBundle: await testBundle(options.workflowsPath),
    shutdownGraceMs: 1000,
  });
  const running = workers.map((w) => w.run());
  return {
    workers,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      await fetcher.close();
      await parsePool.close();
    },
  };
}
