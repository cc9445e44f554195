/**
 * Fault injection around the real activities, for in-process workflow tests: every call is
 * counted, a hook may delay or fail it before it runs (it sees the call's arguments, so a
 * test can aim at one document or thread), and an activity named in
 * `commitThenThrowOnce` runs (and commits) and then throws once, as a worker dying before
 * it reports would.
 */
import type { Activities } from '../../activities/index.js';

export interface ActivityFaults {
  calls: Map<string, number>;
  commitThenThrowOnce: Set<string>;
}

export function withActivityFaults(
  acts: Activities,
  faults: ActivityFaults,
  before?: (name: string, args: unknown[]) => Promise<void>,
): Activities {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(acts)) {
    wrapped[name] = async (...args: unknown[]) => {
      faults.calls.set(name, (faults.calls.get(name) ?? 0) + 1);
      await before?.(name, args);
      const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      if (faults.commitThenThrowOnce.delete(name)) throw new Error(`injected crash after ${name} committed`);
      return result;
    };
  }
  return wrapped as Activities;
}
