/** The two load shapes every scenario uses: one at a time (latency) and N in flight (rate). */
import { summarize, timed, type Summary } from './stats.js';

/** `warmup` untimed runs, then `samples` timed ones, one after the other. */
export async function sequentialLatency(warmup: number, samples: number, op: (i: number) => Promise<unknown>): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await op(i);
  const took: number[] = [];
  for (let i = 0; i < samples; i++) took.push(await timed(() => op(warmup + i)));
  return summarize(took);
}

export interface RateResult {
  /** Operations kept in flight. */
  concurrency: number;
  seconds: number;
  /** Operations that finished inside the window: the rate counts these only. */
  completed: number;
  perSecond: number;
  /**
   * Latency under this load of every operation started in the window, including the ones
   * that finished after it: a lane stuck for the whole window must show in the tail.
   */
  latency: Summary;
}

/**
 * `concurrency` lanes, each running `op` back to back for `seconds`: a closed loop, so the
 * rate is what the system sustains with that many operations in flight.
 */
export async function sustainedRate(concurrency: number, seconds: number, op: (lane: number, i: number) => Promise<unknown>): Promise<RateResult> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const took: number[] = [];
  let completed = 0;
  await Promise.all(Array.from({ length: concurrency }, async (_, lane) => {
    for (let i = 0; performance.now() < deadline; i++) {
      took.push(await timed(() => op(lane, i)));
      if (performance.now() <= deadline) completed++;
    }
  }));
  return { concurrency, seconds, completed, perSecond: completed / seconds, latency: summarize(took) };
}
