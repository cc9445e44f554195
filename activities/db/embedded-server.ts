/**
 * Serves one PGlite instance over the PostgreSQL wire protocol to many connections.
 *
 * Why not `PGLiteSocketServer` from `@electric-sql/pglite-socket`: it queues single protocol
 * messages, so two connections' extended-protocol sequences (Parse, Bind, Execute, Sync)
 * interleave on PGlite's one backend and clobber each other's unnamed statement and portal
 * ("bind message supplies 1 parameters, but prepared statement "" requires 3"), which the
 * `postgres` driver hits as soon as two pooled connections are busy. Here a connection owns
 * the backend from its first message until a Sync or simple Query leaves the backend idle
 * outside a transaction; the others wait their turn, served round-robin.
 *
 * One session serves everyone, so one connection's faults would cost all of them (issue #11):
 * a malformed or oversized message ends that connection (`wire-framing.ts`); an owner idle in
 * a transaction, or after a Flush, past `idleInTransactionMs` is terminated, as PostgreSQL's
 * idle_in_transaction_session_timeout would; and what a closed connection left on the session
 * (its transaction, its named statements) is undone, since the session outlives it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PGlite } from '@electric-sql/pglite';
import { ClientConnection, affectsStatements, releasesBackend, type Group } from './embedded-connection.js';
import { ProtocolError, SYNC_MESSAGE, errorResponse, simpleQuery } from './wire-framing.js';

/** A client ended by the server that does not close its side is cut off after this. */
const CLOSE_GRACE_MS = 1_000;

export interface EmbeddedPgServerOptions {
  maxConnections?: number;
  /**
   * How long the owner of the backend may sit idle in a transaction, or after a Flush, before
   * it is terminated: meanwhile every other connection waits (on a real server only those
   * needing its locks would). Default 30 s.
   */
  idleInTransactionMs?: number;
  /**
   * The largest message accepted (its length field). A message is held whole before it runs,
   * so this bounds what one client makes the process hold. 64 MiB: far above what casework
   * sends (request bodies stop at BODY_LIMIT_BYTES, 1 MiB by default), far below the memory
   * of the WebAssembly backend that must copy it in.
   */
  maxMessageBytes?: number;
}

export class EmbeddedPgServer {
  private readonly server: Server;
  /** In serving order: a served connection moves to the back (round-robin). */
  private readonly connections = new Set<ClientConnection>();
  /** Closed connections whose transaction or statements are still on the backend. */
  private readonly closing: ClientConnection[] = [];
  private owner: ClientConnection | null = null;
  private idleTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly maxConnections: number;
  private readonly idleInTransactionMs: number;
  private readonly maxMessageBytes: number;

  constructor(
    private readonly db: PGlite,
    options: EmbeddedPgServerOptions = {},
  ) {
    this.maxConnections = options.maxConnections ?? 100;
    this.idleInTransactionMs = options.idleInTransactionMs ?? 30_000;
    this.maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Closes every connection, undoing what they left (the cleanup runs before PGlite closes). */
  async close(): Promise<void> {
    for (const conn of [...this.connections]) {
      conn.socket.destroy();
      this.forget(conn);
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.maxConnections) {
      socket.end(errorResponse('53300', 'sorry, too many clients already'));
      return;
    }
    socket.setNoDelay(true);
    const conn = new ClientConnection(socket, this.maxMessageBytes);
    this.connections.add(conn);
    socket.on('data', (data: Buffer) => this.receive(conn, data));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.forget(conn));
  }

  private receive(conn: ClientConnection, data: Buffer): void {
    if (conn.closed) return;
    try {
      if (!conn.receive(data)) return this.end(conn);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      return this.end(conn, errorResponse(err.code, err.message));
    }
    void this.pump();
  }

  /** Runs ready groups one at a time; while a connection owns the backend, only its own. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const leaving = this.nextClosing();
        if (leaving) {
          await this.cleanUp(leaving);
          continue;
        }
        const conn = this.nextReady();
        if (!conn) break;
        clearTimeout(this.idleTimer);
        await this.execute(conn, conn.takeGroup());
        // Running a group never waits for I/O: without this, a pipelining client would hold
        // every other socket (their requests and our answers) and timer until it drained.
        await nextTurn();
      }
    } finally {
      this.running = false;
    }
  }

  /** A closed connection to clean up: the owner first; the others only on an idle backend. */
  private nextClosing(): ClientConnection | null {
    if (!this.owner) return this.closing.shift() ?? null;
    if (!this.owner.closed) return null;
    const at = this.closing.indexOf(this.owner);
    if (at >= 0) this.closing.splice(at, 1);
    return this.owner;
  }

  private nextReady(): ClientConnection | null {
    if (this.owner) return this.owner.ready ? this.owner : null;
    for (const conn of this.connections) {
      if (!conn.ready) continue;
      this.connections.delete(conn);
      this.connections.add(conn);
      return conn;
    }
    return null;
  }

  private async execute(conn: ClientConnection, group: Group): Promise<void> {
    try {
      for (const message of group.messages) await this.run(conn, message);
    } catch (err) {
      // PGlite failed outside SQL (SQL errors are answers): the backend's state is unknown.
      this.owner = conn;
      return this.end(conn, errorResponse('XX000', `embedded PostgreSQL failed: ${String(err)}`));
    }
    const released = releasesBackend(group, this.db.isInTransaction());
    this.owner = released ? null : conn;
    if (!released && !conn.closed) this.armIdleTimer(conn);
  }

  /** Runs one message, streaming the answer to the client. */
  private async run(conn: ClientConnection, message: Buffer): Promise<void> {
    const tracked = affectsStatements(message);
    const answer: Buffer[] = [];
    await this.db.execProtocolRawStream(new Uint8Array(message), {
      onRawData: (chunk) => {
        const bytes = Buffer.from(chunk);
        if (conn.socket.writable) conn.socket.write(bytes);
        if (tracked) answer.push(bytes);
      },
    });
    if (tracked) conn.noteAnswer(message, Buffer.concat(answer));
  }

  private armIdleTimer(conn: ClientConnection): void {
    this.idleTimer = setTimeout(() => {
      if (this.owner !== conn || conn.ready) return;
      this.end(conn, errorResponse('25P03', 'terminating connection due to idle-in-transaction timeout'));
    }, this.idleInTransactionMs);
  }

  /** Ends a connection from this side, after a last error message if given. */
  private end(conn: ClientConnection, error?: Buffer): void {
    if (conn.closed) return;
    const socket = conn.socket;
    if (error) socket.end(error);
    else socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    this.forget(conn);
  }

  private forget(conn: ClientConnection): void {
    if (conn.closed) return;
    conn.drop();
    this.connections.delete(conn);
    if (this.owner === conn) clearTimeout(this.idleTimer);
    this.closing.push(conn);
    void this.pump();
  }

  /** Undoes what a closed connection left on the shared session; the backend is ours. */
  private async cleanUp(conn: ClientConnection): Promise<void> {
    if (this.owner === conn) {
      // ROLLBACK ends an explicit transaction and the implicit one of an unfinished extended
      // exchange; but after an error in an extended exchange the backend ignores everything
      // until a Sync, so: ROLLBACK, Sync, and ROLLBACK again if a block is still open.
      await this.discard(simpleQuery('ROLLBACK'));
      await this.discard(SYNC_MESSAGE);
      if (this.db.isInTransaction()) await this.discard(simpleQuery('ROLLBACK'));
      this.owner = null;
    }
    // One by one: DEALLOCATE ALL would take the other connections' statements too.
    for (const name of conn.statements) await this.discard(simpleQuery(`DEALLOCATE "${name.replaceAll('"', '""')}"`));
  }

  private async discard(message: Buffer): Promise<void> {
    await this.db.execProtocolRawStream(new Uint8Array(message), { onRawData: () => {} }).catch(() => {});
  }
}
