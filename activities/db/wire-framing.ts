/**
 * PostgreSQL wire-protocol framing for the embedded server (`embedded-server.ts`): splits a
 * connection's bytes into messages and builds the few messages the server sends itself.
 *
 * Bytes are kept as the list of chunks the socket delivered and a message is copied out once,
 * when it is whole, so buffering is linear in its size (re-concatenating the buffer on every
 * packet took 5 s for a 32 MB query). A length field is checked as soon as it arrives: one the
 * protocol forbids, or one over the cap, fails at once instead of waiting for bytes that never
 * come (a zero length used to spin the event loop forever).
 */

/** Message types a client may send (protocol 3.0); PGlite aborts its process on any other. */
const FRONTEND_TYPES = new Set('BCDEFHPQSXcdfp'.split('').map((c) => c.charCodeAt(0)));
/** PostgreSQL's own limit on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP_PACKET_BYTES = 10_000;
/** Backend message types the server looks for in PGlite's answers. */
export const PARSE_COMPLETE = 0x31; // '1'
export const CLOSE_COMPLETE = 0x33; // '3'

/** A client broke the protocol or a limit: its connection ends with this SQLSTATE. */
export class ProtocolError extends Error {
  constructor(
    readonly code: '08P01' | '54000',
    message: string,
  ) {
    super(message);
  }
}

export class MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** @param maxMessageBytes the largest length field accepted (the message less its type byte) */
  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole message, or null until one has arrived; throws a ProtocolError for a bad
   * length or type. A startup-phase packet (startup, SSL or cancel request) has no type byte.
   */
  next(startup: boolean): Buffer | null {
    const headerBytes = startup ? 4 : 5;
    if (this.buffered < headerBytes) return null;
    const header = this.peek(headerBytes);
    const length = header.readUInt32BE(headerBytes - 4);
    if (startup) {
      if (length < 8 || length > MAX_STARTUP_PACKET_BYTES) {
        throw new ProtocolError('08P01', `invalid length of startup packet: ${length}`);
      }
    } else {
      if (!FRONTEND_TYPES.has(header[0]!)) throw new ProtocolError('08P01', `invalid frontend message type ${header[0]}`);
      // The length counts itself; above 2^31 it is negative as the protocol's Int32.
      if (length < 4 || length > 0x7fff_ffff) throw new ProtocolError('08P01', `invalid message length: ${length}`);
      if (length > this.maxMessageBytes) {
        throw new ProtocolError('54000', `message of ${length} bytes exceeds the limit of ${this.maxMessageBytes} bytes`);
      }
    }
    const total = startup ? length : 1 + length;
    return this.buffered < total ? null : this.take(total);
  }

  /** The first `n` buffered bytes, without consuming them (n is a header's few bytes). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const out = Buffer.alloc(n);
    for (let i = 0, filled = 0; filled < n; i++) filled += this.chunks[i]!.copy(out, filled, 0, n - filled);
    return out;
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const chunk = this.chunks[used]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) used++;
      else this.chunks[used] = chunk.subarray(part);
    }
    this.chunks.splice(0, used);
    return out;
  }
}

/** A simple Query message. */
export function simpleQuery(sql: string): Buffer {
  return message('Q', Buffer.from(`${sql}\0`, 'utf8'));
}

export const SYNC_MESSAGE = message('S', Buffer.alloc(0));

/** A FATAL ErrorResponse, the last thing a connection the server ends receives. */
export function errorResponse(code: string, text: string): Buffer {
  return message('E', Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`, 'utf8'));
}

/** The statement a Parse message names ('' for the unnamed one). */
export function parsedStatement(message: Buffer): string {
  return cstring(message, 5);
}

/** The statement a Close message closes, or null when it closes a portal. */
export function closedStatement(message: Buffer): string | null {
  return message[5] === 0x53 /* 'S' */ ? cstring(message, 6) : null;
}

/** Whether a run of whole backend messages contains one of this type. */
export function hasBackendMessage(bytes: Buffer, type: number): boolean {
  for (let at = 0; at + 5 <= bytes.length; at += 1 + bytes.readUInt32BE(at + 1)) {
    if (bytes[at] === type) return true;
  }
  return false;
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function cstring(message: Buffer, from: number): string {
  const end = message.indexOf(0, from);
  return message.toString('utf8', from, end < 0 ? message.length : end);
}
