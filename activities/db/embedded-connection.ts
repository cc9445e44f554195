/**
 * One client of the embedded server (`embedded-server.ts`): its messages, grouped into what
 * runs together, and the named statements it leaves on the one shared session.
 */
import type { Socket } from 'node:net';
import {
  CLOSE_COMPLETE,
  MessageReader,
  PARSE_COMPLETE,
  closedStatement,
  hasBackendMessage,
  parsedStatement,
} from './wire-framing.js';

const SSL_REQUEST = 80_877_103;
const CANCEL_REQUEST = 80_877_102;
const GSS_REQUEST = 80_877_104;
const PARSE = 0x50; // 'P'
const CLOSE = 0x43; // 'C'
const TERMINATE = 0x58; // 'X'
/** Messages after which the client waits for an answer. */
const ANSWERED_BY_BACKEND = new Set([0x53 /* Sync */, 0x51 /* Query */, 0x48 /* Flush */]);
/** Messages that leave the backend idle, unless a transaction is open. */
const ENDS_EXCHANGE = new Set([0x53, 0x51]);

/** Messages to run together: everything up to where the client waits for an answer. */
export interface Group {
  messages: Buffer[];
  complete: boolean;
  startup: boolean;
}

/** Whether the backend is free for others once this group has run. */
export function releasesBackend(group: Group, inTransaction: boolean): boolean {
  return group.startup || (ENDS_EXCHANGE.has(group.messages[group.messages.length - 1]![0]!) && !inTransaction);
}

/** Whether the answer to this message creates or drops a named statement. */
export function affectsStatements(message: Buffer): boolean {
  if (message[0] === PARSE) return parsedStatement(message) !== '';
  return message[0] === CLOSE && Boolean(closedStatement(message));
}

export class ClientConnection {
  /** Named statements it created, which the shared session would otherwise keep forever. */
  readonly statements = new Set<string>();
  closed = false;
  private readonly reader: MessageReader;
  private started = false;
  private groups: Group[] = [];
  /** Bytes received and not yet run. */
  private queuedBytes = 0;

  constructor(
    readonly socket: Socket,
    private readonly maxMessageBytes: number,
  ) {
    this.reader = new MessageReader(maxMessageBytes);
  }

  get ready(): boolean {
    return this.groups[0]?.complete === true;
  }

  /** Queues what arrived; false once the client asked to end. Throws a ProtocolError. */
  receive(data: Buffer): boolean {
    this.reader.push(data);
    for (let m = this.reader.next(!this.started); m; m = this.reader.next(!this.started)) {
      if (!this.enqueue(m)) return false;
    }
    this.throttle();
    return true;
  }

  /** The next group to run; only when `ready`. */
  takeGroup(): Group {
    const group = this.groups.shift()!;
    for (const m of group.messages) this.queuedBytes -= m.length;
    this.throttle();
    return group;
  }

  /** Keeps `statements` in step with the backend's answer to a Parse or Close. */
  noteAnswer(message: Buffer, answer: Buffer): void {
    // Only what the backend confirmed: a Parse that failed may name another connection's.
    if (message[0] === PARSE && hasBackendMessage(answer, PARSE_COMPLETE)) {
      this.statements.add(parsedStatement(message));
    } else if (message[0] === CLOSE && hasBackendMessage(answer, CLOSE_COMPLETE)) {
      this.statements.delete(closedStatement(message)!);
    }
  }

  drop(): void {
    this.closed = true;
    this.groups = [];
  }

  private enqueue(message: Buffer): boolean {
    if (!this.started) {
      const code = message.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSS_REQUEST) this.socket.write('N');
      // Cancelling is not supported: the one backend may be running another connection's query.
      else if (code === CANCEL_REQUEST) return false;
      else {
        this.started = true;
        this.groups.push({ messages: [message], complete: true, startup: true });
        this.queuedBytes += message.length;
      }
      return true;
    }
    if (message[0] === TERMINATE) return false;
    let group = this.groups[this.groups.length - 1];
    if (!group || group.complete) {
      group = { messages: [], complete: false, startup: false };
      this.groups.push(group);
    }
    group.messages.push(message);
    group.complete = ANSWERED_BY_BACKEND.has(message[0]!);
    this.queuedBytes += message.length;
    return true;
  }

  /**
   * Stops reading while more than one message's worth of runnable work is queued, so that
   * pipelining cannot sidestep the message cap; reading resumes as the queue drains.
   */
  private throttle(): void {
    if (this.queuedBytes > this.maxMessageBytes && this.ready) this.socket.pause();
    else this.socket.resume();
  }
}
