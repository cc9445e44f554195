/**
 * The embedded PostgreSQL's wire-protocol server (issue #11, defect 7): one PGlite backend
 * shared by many connections, so a connection that misbehaves must cost only itself. Bad
 * bytes go through raw `node:net` sockets; the well-behaved neighbour is the `postgres`
 * driver, as the worker and gateway use it.
 */
import { connect, type Socket } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../activities/db/embedded.js';
import { MessageReader } from '../../activities/db/wire-framing.js';

const IDLE_LIMIT_MS = 300;
const MiB = 1024 * 1024;
const DEFAULT_MAX_MESSAGE_BYTES = 64 * MiB;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function client(url: string, options: postgres.Options<Record<string, never>> = {}): postgres.Sql {
  return postgres(url, { max: 1, fetch_types: false, onnotice: () => {}, ...options });
}

// --- a raw wire-protocol client --------------------------------------------------------

interface Raw {
  socket: Socket;
  received(): Buffer;
  closed: Promise<void>;
}

interface BackendMessage {
  type: string;
  body: Buffer;
}

function frontend(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const cstring = (s: string) => Buffer.from(`${s}\0`);
const query = (sql: string) => frontend('Q', cstring(sql));
const parse = (name: string, sql: string) => frontend('P', Buffer.concat([cstring(name), cstring(sql), Buffer.alloc(2)]));
const flush = () => frontend('H');

function startupPacket(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const header = Buffer.alloc(8);
  header.writeInt32BE(params.length + 8, 0);
  header.writeInt32BE(196_608, 4); // protocol 3.0
  return Buffer.concat([header, params]);
}

function backendMessages(buf: Buffer): BackendMessage[] {
  const out: BackendMessage[] = [];
  for (let at = 0; at + 5 <= buf.length; ) {
    const end = at + 1 + buf.readInt32BE(at + 1);
    if (end > buf.length) break;
    out.push({ type: String.fromCharCode(buf[at]!), body: buf.subarray(at + 5, end) });
    at = end;
  }
  return out;
}

const count = (raw: Raw, type: string) => backendMessages(raw.received()).filter((m) => m.type === type).length;

/** The fields of the first ErrorResponse received, by code letter (C: SQLSTATE, M: message). */
function errorOf(raw: Raw): Record<string, string> {
  const error = backendMessages(raw.received()).find((m) => m.type === 'E');
  if (!error) throw new Error('no ErrorResponse received');
  const fields: Record<string, string> = {};
  for (const field of error.body.toString('utf8').split('\0')) if (field) fields[field[0]!] = field.slice(1);
  return fields;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function openRaw(port: number, { startup = true } = {}): Promise<Raw> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // After the server's error a reset is a fine way for the socket to end.
  socket.on('error', () => {});
  const raw: Raw = { socket, closed, received: () => Buffer.concat(chunks) };
  if (startup) {
    socket.write(startupPacket());
    await waitFor(() => count(raw, 'Z') === 1, 'the startup ReadyForQuery');
  }
  return raw;
}

/** A simple Query, answered when the next ReadyForQuery arrives. */
async function rawQuery(raw: Raw, sql: string): Promise<void> {
  const before = count(raw, 'Z');
  raw.socket.write(query(sql));
  await waitFor(() => count(raw, 'Z') > before, `the answer to ${sql}`);
}

async function preparedStatements(sql: postgres.Sql): Promise<number> {
  // A simple query, so that counting creates no statement of its own.
  const [row] = await sql.unsafe<{ n: number }[]>('select count(*)::int as n from pg_prepared_statements').simple();
  return row!.n;
}

// --- tests ------------------------------------------------------------------------------

describe('wire framing', () => {
  it('reassembles messages split anywhere across chunks', () => {
    const messages = [startupPacket(), query('select 1'), parse('s1', 'select $1::int'), flush()];
    const stream = Buffer.concat(messages);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const reader = new MessageReader(DEFAULT_MAX_MESSAGE_BYTES);
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) {
        reader.push(stream.subarray(at, at + size));
        for (let m; (m = reader.next(out.length === 0)); ) out.push(Buffer.from(m));
      }
      expect(out).toEqual(messages);
    }
  });
});

describe('embedded PostgreSQL server', () => {
  let server: EmbeddedPostgres;
  let sql: postgres.Sql;

  beforeAll(async () => {
    server = await startEmbeddedPostgres({ port: 0, idleInTransactionMs: IDLE_LIMIT_MS });
    sql = client(server.url);
    await sql`create table rows_of_closed (x int)`;
  });

  afterAll(async () => {
    await sql?.end();
    await server?.stop();
  });

  it.each([
    ['a zero length', Buffer.from([0x51, 0, 0, 0, 0])],
    ['a length of 0xFFFFFFFF', Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff])],
    ['an unknown message type', frontend('\x01')],
  ])(
    'closes a connection that sends %s with 08P01, rolls back its transaction and serves the others',
    { timeout: 15_000 },
    async (_, bad) => {
      const raw = await openRaw(server.port);
      await rawQuery(raw, 'begin; insert into rows_of_closed values (1)');
      raw.socket.write(bad);
      await raw.closed;
      expect(errorOf(raw)).toMatchObject({ S: 'FATAL', C: '08P01' });
      const [row] = await sql`select count(*)::int as n from rows_of_closed`;
      expect(row!.n).toBe(0);
    },
  );

  it('closes a connection whose startup packet has a zero length', { timeout: 15_000 }, async () => {
    const raw = await openRaw(server.port, { startup: false });
    raw.socket.write(Buffer.alloc(8));
    await raw.closed;
    expect(errorOf(raw).C).toBe('08P01');
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
  });

  it('refuses a message longer than the cap from its header alone, with 54000', { timeout: 15_000 }, async () => {
    const raw = await openRaw(server.port);
    const header = Buffer.from([0x51, 0, 0, 0, 0]);
    header.writeUInt32BE(DEFAULT_MAX_MESSAGE_BYTES + 1, 1);
    raw.socket.write(Buffer.concat([header, Buffer.from('select ')]));
    await raw.closed;
    expect(errorOf(raw)).toMatchObject({ S: 'FATAL', C: '54000' });
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
  });

  it('answers a large query that is under the cap', { timeout: 30_000 }, async () => {
    const length = 32 * MiB - 100;
    const [row] = await sql.unsafe<{ n: number }[]>(`select length('${'x'.repeat(length)}') as n`).simple();
    expect(row!.n).toBe(length);
  });

  it("deallocates a closed connection's named statements and no one else's", { timeout: 15_000 }, async () => {
    await sql`select ${1}::int as mine`; // a named statement of the connection that stays
    const baseline = await preparedStatements(sql);
    expect(baseline).toBeGreaterThan(0);
    const leaving = client(server.url);
    await leaving`select ${1}::int as a`;
    await leaving`select ${'b'}::text as b`;
    await leaving`select ${2}::int + 1 as c`;
    expect(await preparedStatements(sql)).toBeGreaterThanOrEqual(baseline + 3);
    await leaving.end();
    await waitFor(async () => (await preparedStatements(sql)) === baseline, 'the statements to go');
  });

  it('rolls back a connection that vanished after an error in an extended exchange', { timeout: 15_000 }, async () => {
    const raw = await openRaw(server.port);
    await rawQuery(raw, 'begin; insert into rows_of_closed values (1)');
    // After this error the backend ignores every message until a Sync, a ROLLBACK included.
    raw.socket.write(Buffer.concat([parse('', 'selec 1'), flush()]));
    await waitFor(() => count(raw, 'E') === 1, 'the syntax error');
    raw.socket.destroy();
    const [row] = await sql`select count(*)::int as n from rows_of_closed`;
    expect(row!.n).toBe(0);
  });

  it('terminates a connection idle in a transaction past the limit with 25P03 and rolls it back', { timeout: 15_000 }, async () => {
    const raw = await openRaw(server.port);
    await rawQuery(raw, 'begin; insert into rows_of_closed values (1)');
    // Waits for the backend, which the idle transaction holds until it is terminated.
    const [row] = await sql`select count(*)::int as n from rows_of_closed`;
    expect(row!.n).toBe(0);
    await raw.closed;
    expect(errorOf(raw)).toMatchObject({
      S: 'FATAL',
      C: '25P03',
      M: 'terminating connection due to idle-in-transaction timeout',
    });
  });

  it('terminates a connection that ends on a Flush and sends nothing further', { timeout: 15_000 }, async () => {
    const raw = await openRaw(server.port);
    raw.socket.write(Buffer.concat([parse('', 'select 1'), flush()]));
    await waitFor(() => count(raw, '1') === 1, 'ParseComplete');
    expect(await sql`select 2 as two`).toEqual([{ two: 2 }]);
    await raw.closed;
    expect(errorOf(raw).C).toBe('25P03');
  });
});

describe('embedded PostgreSQL server fairness', () => {
  let server: EmbeddedPostgres;

  beforeAll(async () => {
    server = await startEmbeddedPostgres({ port: 0 });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('serves a connection with one query between the queries of a connection with many', { timeout: 30_000 }, async () => {
    const batchSize = 500;
    const busy = client(server.url);
    const single = client(server.url);
    const holder = client(server.url);
    try {
      await busy`select 1`; // connects first, so an insertion-order scheduler would favour it
      await single`select 1`;
      // The holder's open transaction makes both queue up, so that both are ready at once.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const transaction = holder.begin(async (tx) => {
        await tx`select 1`;
        holding();
        await gate;
      });
      await held;
      let busyDone = 0;
      const batch = Promise.all(Array.from({ length: batchSize }, () => busy`select 1`.then(() => busyDone++)));
      await sleep(300);
      const singleDone = single`select 1`.then(() => busyDone);
      await sleep(100);
      release();
      await transaction;
      const busyDoneWhenSingleWas = await singleDone;
      await batch;
      expect(busyDone).toBe(batchSize);
      // The driver pipelines 100 queries: served in arrival order, the single one waits for them.
      expect(busyDoneWhenSingleWas).toBeLessThan(10);
    } finally {
      await Promise.all([busy.end(), single.end(), holder.end()]);
    }
  });
});
