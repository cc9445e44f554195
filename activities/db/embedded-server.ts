/**
 * Serves one PGlite instance over the PostgreSQL wire protocol to many connections.
 *
 * Why not `PGLiteSocketServer` from `@electric-sql/pglite-socket`: it queues single protocol
 * messages, so two connections' extended-protocol sequences (Parse, Bind, Execute, Sync)
 * interleave on PGlite's one backend and clobber each other's unnamed statement and portal
 * ("bind message supplies 1 parameters, but prepared statement "" requires 3"), which the
 * `postgres` driver hits as soon as two pooled connections are busy. Here a connection owns
 * the backend from its first message until a Sync or simple Query leaves the backend idle
 * outside a transaction; the others wait their turn.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80_877_103;
const CANCEL_REQUEST = 80_877_102;
const GSS_REQUEST = 80_877_104;
const TERMINATE = 0x58; // 'X'
/** Messages after which the client waits for an answer. */
const ANSWERED_BY_BACKEND = new Set([0x53 /* Sync */, 0x51 /* Query */, 0x48 /* Flush */]);
/** Messages that leave the backend idle, unless a transaction is open. */
const ENDS_EXCHANGE = new Set([0x53, 0x51]);

/** Messages to run together: everything up to where the client waits for an answer. */
interface Group {
  messages: Buffer[];
  complete: boolean;
  startup: boolean;
}

interface Connection {
  id: number;
  socket: Socket;
  buffer: Buffer;
  started: boolean;
  groups: Group[];
}

export class EmbeddedPgServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private owner: Connection | null = null;
  private running = false;
  private nextId = 1;

  constructor(private readonly db: PGlite, private readonly maxConnections = 100) {
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

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.maxConnections) {
      socket.end();
      return;
    }
    socket.setNoDelay(true);
    const conn: Connection = { id: this.nextId++, socket, buffer: Buffer.alloc(0), started: false, groups: [] };
    this.connections.add(conn);
    socket.on('data', (data: Buffer) => this.receive(conn, data));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => void this.drop(conn));
  }

  private receive(conn: Connection, data: Buffer): void {
    conn.buffer = Buffer.concat([conn.buffer, data]);
    for (;;) {
      const startup = !conn.started;
      const message = this.takeMessage(conn);
      if (!message) break;
      if (message.length === 0) continue;
      let group = conn.groups[conn.groups.length - 1];
      if (!group || group.complete) {
        group = { messages: [], complete: false, startup };
        conn.groups.push(group);
      }
      group.messages.push(message);
      group.complete = startup || ANSWERED_BY_BACKEND.has(message[0]!);
      conn.started = true;
    }
    void this.pump();
  }

  /** The next complete message, an empty buffer for one handled here, or null. */
  private takeMessage(conn: Connection): Buffer | null {
    const buf = conn.buffer;
    if (!conn.started) {
      if (buf.length < 8) return null;
      const length = buf.readInt32BE(0);
      if (buf.length < length) return null;
      const code = buf.readInt32BE(4);
      conn.buffer = buf.subarray(length);
      if (code === SSL_REQUEST || code === GSS_REQUEST) {
        conn.socket.write('N');
        return Buffer.alloc(0);
      }
      if (code === CANCEL_REQUEST) {
        conn.socket.end();
        return Buffer.alloc(0);
      }
      return buf.subarray(0, length);
    }
    if (buf.length < 5) return null;
    const length = 1 + buf.readInt32BE(1);
    if (buf.length < length) return null;
    conn.buffer = buf.subarray(length);
    if (buf[0] === TERMINATE) {
      conn.socket.end();
      return Buffer.alloc(0);
    }
    return buf.subarray(0, length);
  }

  /** Runs ready groups one at a time; while a connection owns the backend, only its own. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const conn = this.nextReady();
        if (!conn) break;
        await this.execute(conn, conn.groups.shift()!);
      }
    } finally {
      this.running = false;
    }
  }

  private nextReady(): Connection | null {
    const isReady = (c: Connection) => c.groups[0]?.complete === true;
    if (this.owner) return isReady(this.owner) ? this.owner : null;
    for (const c of this.connections) if (isReady(c)) return c;
    return null;
  }

  private async execute(conn: Connection, group: Group): Promise<void> {
    for (const message of group.messages) {
      await this.db.execProtocolRawStream(new Uint8Array(message), {
        onRawData: (chunk) => {
          if (!conn.socket.destroyed) conn.socket.write(Buffer.from(chunk));
        },
      });
    }
    const last = group.messages[group.messages.length - 1]!;
    const idle = group.startup || (ENDS_EXCHANGE.has(last[0]!) && !this.db.isInTransaction());
    this.owner = idle ? null : conn;
  }

  private async drop(conn: Connection): Promise<void> {
    this.connections.delete(conn);
    conn.groups = [];
    if (this.owner !== conn) return;
    // The client vanished mid-transaction: roll back so the others are not blocked.
    while (this.running) await new Promise((r) => setTimeout(r, 1));
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK').catch(() => {});
    this.owner = null;
    void this.pump();
  }
}
