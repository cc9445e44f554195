/**
 * A bound on how long a step waits for the database. When a server goes away mid-query
 * (a restart with `-m immediate`), postgres.js can leave a query on the broken connection
 * unanswered until the activity's own timeout, which then counts as one of the step's
 * attempts. Past this deadline the step reports `DatabaseUnavailable` instead, so the
 * workflow holds the turn (Decision 28). The query may still land later: every write it
 * guards is keyed (a reply claims its messages), so the retry finds it done.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Far above a healthy statement here (milliseconds), well below a chat step's 30 s. */
export const DATABASE_ANSWER_DEADLINE_MS = 10_000;

export async function withinDatabaseDeadline<T>(fn: () => Promise<T>, ms = DATABASE_ANSWER_DEADLINE_MS): Promise<T> {
  const work = fn();
  // The race may be lost to the timer: the late outcome is nobody's to handle.
  work.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(ApplicationFailure.create({ type: 'DatabaseUnavailable', message: `the database did not answer within ${ms / 1000} s` })),
      ms,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
