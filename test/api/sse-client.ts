/**
 * A server-sent events client over a real HTTP connection (inject buffers a response until
 * it ends, so it cannot show what arrives while a client listens). It keeps every message
 * it parsed, comments included, so a test can wait for what it expects and then look at
 * everything that came.
 */
import { get, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  /** The text of a comment line (`: ping`). */
  comment?: string;
}

export interface SseConnection {
  status: number;
  contentType: string | null;
  headers: IncomingHttpHeaders;
  /** Everything received so far, as text (the body of an answer that is not a stream). */
  text(): string;
  messages: SseMessage[];
  /** The messages with an `event:` field (progress, end), in arrival order. */
  events(): SseMessage[];
  /** Resolves once `check` holds over everything received so far. */
  waitFor(check: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<SseMessage[]>;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  /** Disconnects, as a browser tab that closes. */
  close(): void;
}

function parseBlock(block: string): SseMessage | undefined {
  const message: SseMessage = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) message.comment = line.slice(1).trim();
    const match = /^(id|event|data): ?(.*)$/.exec(line);
    if (match) message[match[1] as 'id' | 'event' | 'data'] = match[2];
  }
  return Object.keys(message).length > 0 ? message : undefined;
}

/** Over node:http with no agent: one socket per stream, gone when the stream is (no pooled spare to hold a closing server). */
function request(url: URL, headers: Record<string, string>): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false }, (res) => resolve({ req, res }));
    req.once('error', reject);
  });
}

export async function openSse(baseUrl: string, path: string, key: string, lastEventId?: string): Promise<SseConnection> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'text/event-stream' };
  if (lastEventId) headers['last-event-id'] = lastEventId;
  const { req, res } = await request(new URL(path, baseUrl), headers);
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of waiters) wake();
  };
  let buffer = '';
  let received = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    received += chunk;
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const message = parseBlock(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (message) messages.push(message);
    }
    wakeAll();
  });
  // 'close' also when the test disconnects on purpose (req.destroy()), which is no failure here.
  const ended = new Promise<void>((resolve) => res.once('close', resolve)).finally(wakeAll);
  let closedByServer = false;
  void ended.then(() => (closedByServer = true));
  return {
    status: res.statusCode ?? 0,
    contentType: res.headers['content-type'] ?? null,
    headers: res.headers,
    text: () => received,
    messages,
    events: () => messages.filter((m) => m.event),
    async waitFor(check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(messages)) {
        if (closedByServer) throw new Error(`the stream ended first; received ${JSON.stringify(messages)}`);
        if (Date.now() > deadline) throw new Error(`not received within ${timeoutMs} ms; received ${JSON.stringify(messages)}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
      return messages;
    },
    ended,
    close: () => req.destroy(),
  };
}

/** The progress payloads of a connection, parsed. */
export function progressData(connection: SseConnection): unknown[] {
  return connection.events().filter((m) => m.event === 'progress').map((m) => JSON.parse(m.data ?? 'null'));
}
