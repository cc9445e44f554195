/**
 * Database errors, provoked for real against the file's own database and a closed port, are
 * classified by what a retry can do, and their failures carry no SQL and no user text.
 */
import { createServer } from 'node:net';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { DrizzleQueryError, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, isDatabaseUnavailable, withClassifiedErrors } from '../../activities/errors.js';
import { users } from '../../activities/db/schema/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/** Stands for what a user typed: it must reach no failure message. */
const USER_TEXT = 'my-private-plan-7f3a';

let database: TestDatabase;
let closedUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  closedUrl = `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`;
});
afterAll(() => database?.drop());

/** A port that was free a moment ago: nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(() => expect.fail('expected the call to fail'), (err: unknown) => err);
}

function pick(failure: unknown) {
  const f = failure as ApplicationFailure;
  return { type: f.type, retryable: !f.nonRetryable };
}

function expectFailure(err: unknown, type: string, retryable: boolean): ApplicationFailure {
  const failure = classify(err);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  const { message, nonRetryable, cause } = failure as ApplicationFailure;
  expect({ type: (failure as ApplicationFailure).type, retryable: !nonRetryable }).toEqual({ type, retryable });
  expect(message).not.toMatch(/insert|select|params|\$1|users/i);
  expect(message).not.toContain(USER_TEXT);
  expect(cause).toBeUndefined();
  return failure as ApplicationFailure;
}

describe('a statement the database refuses is not retried', () => {
  it('a unique violation through drizzle becomes DatabaseError 23505', async () => {
    await database.db.insert(users).values({ name: USER_TEXT });
    const err = await rejection(database.db.insert(users).values({ name: USER_TEXT }));
    // What used to reach the client: the SQL and the user's text.
    expect(err).toBeInstanceOf(DrizzleQueryError);
    expect((err as Error).message).toContain(USER_TEXT);
    expect(expectFailure(err, 'DatabaseError', false).message).toBe('the database rejected the write (SQLSTATE 23505)');
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('one upsert meeting its key twice (SQLSTATE 21000) is permanent', async () => {
    const twice = database.db
      .insert(users)
      .values([{ name: `${USER_TEXT}-twice` }, { name: `${USER_TEXT}-twice` }])
      .onConflictDoUpdate({ target: users.name, set: { isAdmin: false } });
    expect(expectFailure(await rejection(twice), 'DatabaseError', false).message).toBe('the database rejected the write (SQLSTATE 21000)');
  });

  it('a malformed value (22P02, whose server message quotes it) says only "a value"', async () => {
    const err = await rejection(database.db.select().from(users).where(eq(users.id, USER_TEXT)));
    expect(expectFailure(err, 'DatabaseError', false).message).toBe('the database rejected a value (SQLSTATE 22P02)');
  });

  it('a raw postgres.js error, not wrapped by drizzle, is classified too', async () => {
    const err = await rejection(database.sql`select 1 / 0 as ${database.sql(USER_TEXT)}`);
    expect(err).toBeInstanceOf(postgres.PostgresError);
    expect(expectFailure(err, 'DatabaseError', false).message).toBe('the database rejected a value (SQLSTATE 22012)');
  });
});

describe('a database that cannot be reached is retried', () => {
  it('a connection refused, raw and through drizzle, is DatabaseUnavailable', async () => {
    const client = postgres(closedUrl, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      const raw = await rejection(client`select ${USER_TEXT}::text`);
      const wrapped = await rejection(drizzle(client).select().from(users).where(eq(users.name, USER_TEXT)));
      for (const err of [raw, wrapped]) {
        expect(isDatabaseUnavailable(err)).toBe(true);
        expect(expectFailure(err, 'DatabaseUnavailable', true).message).toBe('the database is unreachable (ECONNREFUSED)');
      }
    } finally {
      await client.end();
    }
  });

  it('a pool already ended is unavailable, not a bug', async () => {
    const client = postgres(database.url, { max: 1, onnotice: () => {} });
    await client.end();
    const err = await rejection(client`select 1`);
    expect(expectFailure(err, 'DatabaseUnavailable', true).message).toBe('the database is unreachable (CONNECTION_ENDED)');
  });

  it('a socket error code is not mistaken for a SQLSTATE (EPIPE has five letters)', () => {
    const broken = new DrizzleQueryError('insert …', [USER_TEXT], Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(isDatabaseUnavailable(broken)).toBe(true);
    expectFailure(broken, 'DatabaseUnavailable', true);
  });

  it('the server\'s own codes map by class', () => {
    const cases: [string, string, boolean][] = [
      ['57P01', 'DatabaseUnavailable', true], // terminated by an administrator
      ['57P03', 'DatabaseUnavailable', true], // still starting
      ['53300', 'DatabaseUnavailable', true], // too many connections
      ['08006', 'DatabaseUnavailable', true],
      ['40001', 'DatabaseTransient', true], // serialization failure
      ['40P01', 'DatabaseTransient', true], // deadlock
      ['57014', 'DatabaseTransient', true], // statement timeout
      ['25006', 'DatabaseTransient', true], // a standby during failover
      ['42P01', 'DatabaseError', false],
      ['40002', 'DatabaseError', false],
    ];
    for (const [code, type, retryable] of cases) {
      const err = new postgres.PostgresError({ code, message: `server text quoting ${USER_TEXT}` } as never);
      expect({ code, ...pick(classify(new DrizzleQueryError('select', [], err))) }).toEqual({ code, type, retryable });
    }
  });
});

describe('other database failures are retried as transient', () => {
  // The embedded database (PGlite, one thread) never interrupts a statement: it ignores
  // statement_timeout, so only a real server can provoke 57014; the table above maps it.
  it('a statement timeout provoked on the server is DatabaseTransient (the embedded database never times out)', async () => {
    const client = postgres(database.url, { max: 1, onnotice: () => {}, connection: { statement_timeout: 50 } });
    try {
      const statement = drizzle(client).execute(sql`select pg_sleep(0.5), ${USER_TEXT}::text`);
      if (database.kind === 'embedded') {
        await expect(statement).resolves.toBeDefined();
        return;
      }
      const err = await rejection(statement);
      expect(expectFailure(err, 'DatabaseTransient', true).message).toBe('the database statement timed out (SQLSTATE 57014)');
    } finally {
      await client.end();
    }
  });
});

describe('what is not the database\'s passes through untouched', () => {
  it('an ApplicationFailure, a cancellation, an unknown error', () => {
    const decided = ApplicationFailure.create({ type: 'LlmBadRequest', message: 'no', nonRetryable: true, cause: new Error('x') });
    const cancelled = new CancelledFailure('cancelled');
    const unknown = new Error('boom');
    for (const err of [decided, cancelled, unknown]) expect(classify(err)).toBe(err);
  });
});

describe('withClassifiedErrors', () => {
  const insertTwice = async () => {
    await database.db.insert(users).values({ name: `${USER_TEXT}-logged` }).onConflictDoNothing();
    await database.db.insert(users).values({ name: `${USER_TEXT}-logged` });
  };

  it('throws the fixed failure and logs the details with the activity name', async () => {
    const entries: LogEntry[] = [];
    const env = new MockActivityEnvironment({ activityType: 'insertTwice' }, { logger: new DefaultLogger('WARN', (e) => entries.push(e)) });
    const acts = withClassifiedErrors({ insertTwice });
    const err = await rejection(env.run(acts.insertTwice));
    expect(err).toMatchObject({ type: 'DatabaseError', message: 'the database rejected the write (SQLSTATE 23505)' });
    const logged = entries.find((e) => e.message === 'database error');
    expect(logged?.meta).toMatchObject({ activity: 'insertTwice', type: 'DatabaseError', retryable: false });
    expect(JSON.stringify(logged?.meta)).toContain(USER_TEXT);
  });

  it('works outside an activity too (no logger to write to)', async () => {
    const err = await rejection(withClassifiedErrors({ insertTwice }).insertTwice());
    expect(err).toMatchObject({ type: 'DatabaseError' });
  });
});
