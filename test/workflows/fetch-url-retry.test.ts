/**
 * fetchUrlDocument's answer is a function of its run (issue 16): an attempt that stored the
 * document and then failed before its result reached the server (the worker died, the progress
 * write failed) is followed by one that answers as the first would have, `created: true`, not
 * "found the same document" (`created: false`). Run in MockActivityEnvironment on a real
 * database, with a fake fetcher that counts its calls.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documents, runProgress } from '../../activities/db/schema/index.js';
import type { FetchedPage, SafeFetcher } from '../../activities/web/index.js';
import { createUrlIngestActivities, type FetchUrlOutcome } from '../../activities/web/ingest.js';
import { seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { seedCase } from '../helpers/documents.js';

let database: TestDatabase;
let userId: string;
let caseId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  userId = (await seedUser(database.db)).id;
  caseId = await seedCase(database.db, userId);
});

afterAll(async () => {
  await database?.drop();
});

/** Serves one plain-text page for any URL, counting the fetches. */
function pageFetcher(text: string): SafeFetcher & { calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    async fetchPage(url): Promise<FetchedPage> {
      calls += 1;
      return { finalUrl: url, status: 200, contentType: 'text/plain', charset: 'utf-8', body: Buffer.from(text), headers: {}, redirects: [] };
    },
    close: async () => {},
  };
}

async function attempt(fetcher: SafeFetcher, url: string, runId: string, n: number): Promise<FetchUrlOutcome | Error> {
  const env = new MockActivityEnvironment({ attempt: n, workflowExecution: { workflowId: `url-${caseId}-test`, runId } });
  const acts = createUrlIngestActivities({ db: database.db, config: {}, fetcher, clock: () => new Date() });
  try {
    return await env.run(acts.fetchUrlDocument, { caseId, userId, url, seq: 1 });
  } catch (err) {
    return err as Error;
  }
}

const urlDocuments = (url: string) => database.db.select({ id: documents.id }).from(documents).where(and(eq(documents.caseId, caseId), eq(documents.url, url)));

describe('fetchUrlDocument retried within its run', () => {
  it('answers created: true again after an attempt whose result was lost, without fetching again', async () => {
    const url = `https://example.test/${randomUUID()}`;
    const fetcher = pageFetcher('the oven supplier answered');
    const runId = randomUUID();
    const first = await attempt(fetcher, url, runId, 1);
    expect(first).toMatchObject({ created: true });
    // The worker dies before it reports: the server retries the activity in the same run.
    const second = await attempt(fetcher, url, runId, 2);
    expect(second).toEqual(first);
    expect(fetcher.calls()).toBe(1);
    // Another run of the same URL with the same content finds the document: that is `created: false`.
    const later = await attempt(fetcher, url, randomUUID(), 1);
    expect(later).toEqual({ documentId: (first as FetchUrlOutcome).documentId, created: false, status: 'pending' });
    expect(await urlDocuments(url)).toHaveLength(1);
  });

  it('stores the document and its progress row together: a failed progress write leaves no document behind', async () => {
    const url = `https://example.test/${randomUUID()}`;
    const fetcher = pageFetcher('rye flour prices rose in spring');
    const runId = randomUUID();
    // The first progress write of this run fails (a sequence is not rolled back with it, so once).
    await database.db.execute(sql.raw(`
      create sequence progress_fault;
      create function progress_fault() returns trigger language plpgsql as $$
        begin
          if new.run_id = '${runId}' and nextval('progress_fault') = 1 then raise exception 'injected: the progress write failed'; end if;
          return new;
        end $$;
      create trigger progress_fault before insert on run_progress for each row execute function progress_fault();`));
    try {
      const first = await attempt(fetcher, url, runId, 1);
      expect(first).toBeInstanceOf(Error);
      expect(await urlDocuments(url)).toHaveLength(0);
      const second = await attempt(fetcher, url, runId, 2);
      expect(second).toMatchObject({ created: true });
      const [row] = await database.db.select().from(runProgress).where(eq(runProgress.runId, runId));
      expect(row?.payload).toMatchObject({ step: 'fetched', documentId: (second as FetchUrlOutcome).documentId, created: true });
    } finally {
      await database.db.execute(sql.raw('drop trigger progress_fault on run_progress; drop function progress_fault(); drop sequence progress_fault;'));
    }
  });
});
