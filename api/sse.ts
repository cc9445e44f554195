/**
 * A server-sent events answer (`text/event-stream`) through Fastify: a PassThrough that the
 * route sends, which Fastify pipes to the socket and destroys when the client leaves, so
 * `signal` tells the writer to stop (its polling with it). Writes wait for the socket to
 * drain: a slow client holds the writer back instead of growing a buffer.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export interface SseEvent {
  /** What the client sends back as `Last-Event-ID`: no newlines (ours are base64url). */
  id?: string;
  event: string;
  data: unknown;
}

export interface SseChannel {
  readonly stream: PassThrough;
  /** Aborted when the client leaves or `end()` is called. */
  readonly signal: AbortSignal;
  send(event: SseEvent): Promise<void>;
  /** A comment line when nothing was written for `idleMs`, so clients and proxies see the connection live. */
  heartbeat(idleMs: number): Promise<void>;
  end(): void;
}

export const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // nginx would otherwise buffer the stream until it ends.
  'x-accel-buffering': 'no',
} as const;

/** Sets the headers and opens the channel; the route then answers `reply.send(channel.stream)`. */
export function openSse(reply: FastifyReply, options: { retryMs: number }): SseChannel {
  const stream = new PassThrough();
  const abort = new AbortController();
  const stop = () => abort.abort();
  stream.once('close', stop);
  reply.raw.once('close', stop);
  let lastWrite = Date.now();

  const write = async (text: string): Promise<void> => {
    // Checked before every write, so nothing is written after end() or a disconnect.
    if (abort.signal.aborted) return;
    lastWrite = Date.now();
    if (!stream.write(text)) await once(stream, 'drain', { signal: abort.signal }).catch(() => {});
  };

  void reply.headers(sseHeaders);
  // The first bytes also flush the headers, so the client sees 200 before any event.
  void write(`retry: ${options.retryMs}\n\n`);
  return {
    stream,
    signal: abort.signal,
    async send(event) {
      const id = event.id === undefined ? '' : `id: ${event.id}\n`;
      // JSON.stringify escapes every line break, so the data is one `data:` line.
      await write(`${id}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
    },
    async heartbeat(idleMs) {
      if (Date.now() - lastWrite >= idleMs) await write(': ping\n\n');
    },
    end() {
      abort.abort();
      if (!stream.destroyed) stream.end();
    },
  };
}
