/**
 * The worker's SDK log (core included), counted by level and message text instead of
 * printed: a benchmark wants to know how often "Task not found when completing" happened,
 * not 15 copies of it in the middle of its table. The first ERROR of each kind still goes to
 * stderr so a broken run is visible while it runs.
 */
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry } from '@temporalio/worker';

/** `${level} ${message}` → occurrences, and one example of each (its fields, shortened). */
export interface LogCounts {
  counts: Record<string, number>;
  examples: Record<string, string>;
}

export interface SdkLogCounter {
  /** The counts so far (after flushing core's buffered lines). */
  snapshot(): LogCounts;
  /** What was logged after `earlier`. */
  since(earlier: LogCounts): LogCounts;
}

function describe(entry: LogEntry): string {
  const { sdkComponent: _c, taskQueue: _q, ...fields } = (entry.meta ?? {}) as Record<string, unknown>;
  return JSON.stringify(fields).slice(0, 300);
}

/** Must run before any connection or worker exists (the runtime is created once per process). */
export function installCountingSdkLogger(): SdkLogCounter {
  const counts = new Map<string, number>();
  const examples = new Map<string, string>();
  const logger = new DefaultLogger('WARN', (entry) => {
    const key = `${entry.level} ${entry.message}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (!examples.has(key)) {
      examples.set(key, describe(entry));
      if (entry.level === 'ERROR') console.error(`[sdk] ${key} ${describe(entry)}`);
    }
  });
  // Forwarding (instead of core's own console output) is what routes core's WARNs, such as
  // the workflow-task completion failures, through the logger above.
  Runtime.install({
    logger,
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'WARN' }) } },
  });
  const snapshot = (): LogCounts => {
    Runtime.instance().flushLogs();
    return { counts: Object.fromEntries(counts), examples: Object.fromEntries(examples) };
  };
  return {
    snapshot,
    since(earlier) {
      const now = snapshot();
      const diff: LogCounts = { counts: {}, examples: {} };
      for (const [key, n] of Object.entries(now.counts)) {
        const delta = n - (earlier.counts[key] ?? 0);
        if (delta <= 0) continue;
        diff.counts[key] = delta;
        diff.examples[key] = now.examples[key] ?? '';
      }
      return diff;
    },
  };
}
