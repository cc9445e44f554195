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
import type { Embedder } from '../../activities/llm/types.js';
import { runFaultWorker, say } from './fault-worker.js';

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

await runFaultWorker({ embedder: slowCounted });
