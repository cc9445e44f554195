/** A step that waits too long for the database reports it unreachable (activities/db/deadline.ts). */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { withinDatabaseDeadline } from '../../activities/db/deadline.js';

describe('withinDatabaseDeadline', () => {
  it('an unanswered query becomes a retryable DatabaseUnavailable at the deadline', async () => {
    const never = () => new Promise<never>(() => {});
    const err = await withinDatabaseDeadline(never, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'DatabaseUnavailable', nonRetryable: false, message: 'the database did not answer within 0.05 s' });
  });

  it('an answer in time passes through, and so does a failure', async () => {
    await expect(withinDatabaseDeadline(async () => 42, 1_000)).resolves.toBe(42);
    await expect(withinDatabaseDeadline(async () => { throw new Error('boom'); }, 1_000)).rejects.toThrow('boom');
  });

  it('a late failure after the deadline is nobody\'s unhandled rejection', async () => {
    const late = () => new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late')), 30));
    await expect(withinDatabaseDeadline(late, 5)).rejects.toMatchObject({ type: 'DatabaseUnavailable' });
    await new Promise((r) => setTimeout(r, 50));
  });
});
