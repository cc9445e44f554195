/**
 * A parse thread, started by pool.ts: it runs the tasks its parent posts, one at a time, and
 * posts back how each ended, and a PDF's pages as it reads them. It loads the readers only,
 * never the Temporal SDK.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { settle, type ParseTask } from './tasks.js';

export interface ThreadData {
  /** Test hook: every task first holds this thread for this long (ParseSettings.delayMs). */
  delayMs: number;
}

export type ToThread = { id: number; task: ParseTask };
export type FromThread = { id: number; progress: number } | { id: number; outcome: Awaited<ReturnType<typeof settle>> };

const port = parentPort!;
const { delayMs } = workerData as ThreadData;

/** A busy wait, not a timer: the point is a thread whose event loop is held, as a hostile input would hold it. */
function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spinning on purpose
  }
}

async function handle({ id, task }: ToThread): Promise<void> {
  if (delayMs > 0) hold(delayMs);
  const outcome = await settle(task, (progress) => port.postMessage({ id, progress } satisfies FromThread));
  port.postMessage({ id, outcome } satisfies FromThread);
}

port.on('message', (message: ToThread) => void handle(message));
