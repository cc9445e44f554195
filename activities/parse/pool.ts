/**
 * The parse pool: CPU-heavy passes over user input (HTML, a PDF's text, chunking and token
 * counting) run here, off the worker's event loop, so a hostile or huge upload cannot stop
 * the chat replies, heartbeats and shutdown that share the loop. Small inputs run inline
 * (INLINE_MAX_CHARS); the rest go to a few worker threads (`DOCUMENT_PARSE_THREADS`),
 * started on first need and kept. A task gets `DOCUMENT_PARSE_DEADLINE_MS` of wall-clock
 * time; past it, or when its caller aborts (the activity was cancelled), its thread is
 * terminated (a synchronous parse cannot be interrupted any other way) and the next task gets
 * a new one. A deadline ends in a non-retryable `DocumentUnreadable` with a readable reason.
 *
 * Threads are node:worker_threads, not processes: they share the worker's memory and start in
 * ~0.3-1 s. vitest.config.ts runs tests in forks because the Temporal SDK's native runtime
 * breaks under vitest's thread pool; parse threads never load the SDK (thread.ts loads the
 * readers only), so that concern is not theirs. Under TypeScript (`tsx`, vitest) a thread
 * registers tsx itself: tsx's `--import` hook skips worker threads on Node 20.
 */
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { failure } from '../errors.js';
import { settle, taskSize, type ParseKind, type ParseOutcome, type ParseOutput, type ParseTask, type ParseTaskOf } from './tasks.js';
import type { FromThread, ThreadData, ToThread } from './thread.js';

export interface ParseSettings {
  /** Threads at most (DOCUMENT_PARSE_THREADS). */
  threads: number;
  /** Wall-clock time a task may run in a thread (DOCUMENT_PARSE_DEADLINE_MS). */
  deadlineMs: number;
  /** Test hook, never read from the environment: each task in a thread first holds it this long. */
  delayMs?: number;
}

export interface RunOptions {
  /** Aborting it (the activity's cancellation) ends the task and terminates its thread. */
  signal?: AbortSignal;
  /** A PDF's pages as they are read (a heartbeat each). */
  onProgress?: (n: number) => void;
}

export interface ParsePool {
  run<K extends ParseKind>(task: ParseTaskOf<K>, options?: RunOptions): Promise<ParseOutput<K>>;
  /** Ends every thread; queued tasks fail. */
  close(): Promise<void>;
}

/**
 * Inputs up to this many characters run inline: the costliest shapes we found at 32 KiB
 * (Readability over chains of `<div>` 95 deep, chunking random words or one random word)
 * took 15-21 ms on the event loop of a warm worker, 35-40 ms at 64 KiB; a task sent to a
 * thread waits ~0.3-1 s the first time while the thread starts. A PDF never runs inline: its
 * size says nothing of its cost.
 */
export const INLINE_MAX_CHARS = 32 * 1024;
/** A thread's heap: past it the thread dies (ERR_WORKER_OUT_OF_MEMORY), not the worker. */
export const THREAD_HEAP_MB = 2_048;

const NOUNS: Record<ParseKind, string> = {
  document: 'the document took longer than %s to read',
  page: 'the page took longer than %s to read',
  chunks: 'the document took longer than %s to cut into chunks',
};

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The same outcome, wherever it ran: the value, or the failure a workflow can show. */
function unwrap<T>(outcome: ParseOutcome): T {
  if ('value' in outcome) return outcome.value as T;
  if ('refusal' in outcome) throw failure(outcome.refusal.type, outcome.refusal.message);
  throw failure('DocumentUnreadable', `the document could not be read (${outcome.error.name}: ${outcome.error.message.slice(0, 200)})`);
}

const THREAD_FILE = new URL(`./thread${fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * A worker thread running `file`; a TypeScript file registers tsx first (the module comment
 * says why). The bench's `extract` scenario starts its own threads with it too.
 */
export function startThread(file: URL, options: Pick<WorkerOptions, 'workerData' | 'resourceLimits'> = {}): Worker {
  const load = `import(${JSON.stringify(file.href)})`;
  const bootstrap = file.pathname.endsWith('.ts')
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return ${load}; });`
    : load;
  return new Worker(bootstrap, { ...options, eval: true, execArgv: [] });
}

interface Job {
  id: number;
  task: ParseTask;
  options: RunOptions;
  resolve(outcome: ParseOutcome): void;
  reject(err: unknown): void;
  onAbort?: () => void;
}

interface Thread {
  worker: Worker;
  job?: Job;
  timer?: NodeJS.Timeout;
}

export function createParsePool(settings: ParseSettings): ParsePool {
  const threads = new Set<Thread>();
  const idle: Thread[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Thread {
    const worker = startThread(THREAD_FILE, {
      workerData: { delayMs: settings.delayMs ?? 0 } satisfies ThreadData,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    const thread: Thread = { worker };
    worker.unref();
    worker.on('message', (m: FromThread) => {
      const job = thread.job;
      if (!job || m.id !== job.id) return;
      if ('progress' in m) job.options.onProgress?.(m.progress);
      else done(thread, () => job.resolve(m.outcome));
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const reason = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `the document needs more memory than its reader may use (${THREAD_HEAP_MB} MiB)`
        : `the document could not be read (its reader failed: ${err.message.slice(0, 200)})`;
      end(thread, failure('DocumentUnreadable', reason));
    });
    worker.on('exit', () => end(thread, failure('DocumentUnreadable', 'the document could not be read (its reader stopped)')));
    threads.add(thread);
    return thread;
  }

  /** The job's thread is free again. */
  function done(thread: Thread, settleJob: () => void): void {
    clearTimeout(thread.timer);
    const job = thread.job!;
    if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
    thread.job = undefined;
    thread.worker.unref();
    idle.push(thread);
    settleJob();
    pump();
  }

  /** The thread is gone (terminated on purpose, crashed, out of memory): its job fails with `why`. */
  function end(thread: Thread, why: unknown): void {
    if (!threads.delete(thread)) return;
    clearTimeout(thread.timer);
    const idleAt = idle.indexOf(thread);
    if (idleAt >= 0) idle.splice(idleAt, 1);
    const job = thread.job;
    thread.job = undefined;
    void thread.worker.terminate();
    if (job) {
      if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
      job.reject(why);
    }
    pump();
  }

  function start(thread: Thread, job: Job): void {
    thread.job = job;
    thread.worker.ref();
    thread.timer = setTimeout(() => end(thread, failure('DocumentUnreadable', NOUNS[job.task.kind].replace('%s', seconds(settings.deadlineMs)))), settings.deadlineMs);
    thread.worker.postMessage({ id: job.id, task: job.task } satisfies ToThread);
  }

  function pump(): void {
    while (queue.length > 0 && !closed) {
      const thread = idle.pop() ?? (threads.size < settings.threads ? spawn() : undefined);
      if (!thread) return;
      start(thread, queue.shift()!);
    }
  }

  function inThread(task: ParseTask, options: RunOptions): Promise<ParseOutcome> {
    return new Promise<ParseOutcome>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) return reject(signal.reason);
      const job: Job = { id: nextId++, task, options, resolve, reject };
      if (signal) {
        job.onAbort = () => {
          const queued = queue.indexOf(job);
          if (queued >= 0) {
            queue.splice(queued, 1);
            reject(signal.reason);
            return;
          }
          const thread = [...threads].find((t) => t.job === job);
          if (thread) end(thread, signal.reason);
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      queue.push(job);
      pump();
    });
  }

  return {
    async run<K extends ParseKind>(task: ParseTaskOf<K>, options: RunOptions = {}): Promise<ParseOutput<K>> {
      if (closed) throw new Error('the parse pool is closed');
      const t = task as ParseTask;
      const outcome = taskSize(t) <= INLINE_MAX_CHARS ? await settle(t, options.onProgress) : await inThread(t, options);
      return unwrap<ParseOutput<K>>(outcome);
    },

    async close(): Promise<void> {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('the parse pool is closed'));
      await Promise.all([...threads].map((t) => {
        end(t, new Error('the parse pool is closed'));
        return t.worker.terminate();
      }));
    },
  };
}
