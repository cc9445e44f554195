/**
 * The worker the document fault test runs as a child process (`node --import tsx
 * test/fault/document-worker-process.ts`): the real workers and activities on the usual
 * environment (TEMPORAL_ADDRESS, DATABASE_URL, CASEWORK_QUEUE_PREFIX, CHUNK_TOKENS,
 * EMBED_BATCH_SIZE, ...), with the embedder slowed down and counted, never changed:
 *
 * - FAULT_EMBED_DELAY_MS: each embedding call takes this long (aborted on cancellation),
 *   so the test can kill the process while a document is being embedded;
 * - every call prints `embed-call <n> texts=<k>` before it returns its vectors;
 * - FAULT_WORKFLOW_BUNDLE: a file holding the workflow bundle (the test writes it once).
 *
 * It prints `fault-worker ready` once its workers run.
 */
import { readFileSync, writeSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { createDb } from '../../activities/db/client.js';
import { createEmbedder, createLlm } from '../../activities/llm/index.js';
import type { Embedder } from '../../activities/llm/types.js';
import { activityConfigOf, databaseUrl, loadConfig } from '../../workers/config.js';
import { temporalConnectionOptions } from '../../workers/temporal-connection.js';
import { createWorkers, runWorkers } from '../../workers/worker.js';

const say = (line: string) => writeSync(1, `${line}\n`);
const delayMs = Number(process.env.FAULT_EMBED_DELAY_MS ?? 0);

function slowCounted(embedder: Embedder): Embedder {
  let calls = 0;
  return {
    ...embedder,
    async embed(texts, call) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delayMs);
        call?.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('embedding aborted'))));
      });
      const vectors = await embedder.embed(texts, call);
      say(`embed-call ${++calls} texts=${texts.length}`);
      return vectors;
    },
  };
}

const bundlePath = process.env.FAULT_WORKFLOW_BUNDLE;
if (!bundlePath) throw new Error('FAULT_WORKFLOW_BUNDLE must name the bundle file the test wrote');
const config = loadConfig();
Runtime.install({ logger: new DefaultLogger('WARN') });
const database = createDb(databaseUrl(config), config.database);
const { connectionOptions, namespace } = await temporalConnectionOptions(config);
const connection = await NativeConnection.connect(connectionOptions);
const workers = await createWorkers({
  connection,
  namespace,
  queues: config.queues,
  kinds: config.workerQueues,
  activities: createActivities({
    db: database.db,
    llm: createLlm(config.llm),
    embedder: slowCounted(createEmbedder(config.llm)),
    temporal: new Client({ connection, namespace }),
    config: activityConfigOf(config),
    clock: () => new Date(),
  }),
  workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
  shutdownGraceMs: config.workerShutdownGraceMs,
});
const running = runWorkers(workers);
say(`fault-worker ready pid=${process.pid}`);
try {
  await running;
} finally {
  await connection.close();
  await database.close();
  say('fault-worker stopped');
}
