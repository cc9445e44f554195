import { describe, expect, it } from 'vitest';
import { QUEUE_KINDS } from '../../workers/config.js';
import { tuningFor } from '../../workers/worker.js';

/** The SDK's documented defaults (WorkerOptions): 100 activity slots, min(10, slots) pollers, 3 eager reservations per workflow task. */
const SDK_DEFAULT_SLOTS = 100;
const SDK_DEFAULT_POLLERS = 10;
const EAGER_PER_WORKFLOW_TASK = 3;

describe('worker tuning', () => {
  it.each(QUEUE_KINDS)('leaves the %s worker activity slots that its pollers do not hold, so activities are handed over eagerly', (kind) => {
    const tuning = tuningFor(kind);
    const slots = tuning.maxConcurrentActivityTaskExecutions ?? SDK_DEFAULT_SLOTS;
    const poller = tuning.activityTaskPollerBehavior;
    const pollers = poller?.type === 'simple-maximum' ? (poller.maximum ?? Math.min(SDK_DEFAULT_POLLERS, slots)) : Math.min(SDK_DEFAULT_POLLERS, slots);
    expect(poller?.type ?? 'simple-maximum').toBe('simple-maximum');
    expect(slots - pollers).toBeGreaterThanOrEqual(EAGER_PER_WORKFLOW_TASK);
  });

  it('keeps research to ten activities at a time and chat to its burst sizing', () => {
    expect(tuningFor('research').maxConcurrentActivityTaskExecutions).toBe(10);
    expect(tuningFor('chat')).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 200, maxConcurrentLocalActivityExecutions: 200 });
  });
});
