/**
 * Loopback-only servers for the fetcher's tests (reliability A6): every server binds
 * 127.0.0.x, and every test that needs a name answers it with a fake resolver, so a broken
 * guard can only ever reach this machine. Canaries count connections: a test proves the
 * guard by a count of 0.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { LookupAddress } from 'node:dns';
import type { buildConnector } from 'undici';
import { loadConfig } from '../../workers/config.js';
import type { FetchConfig, Resolver } from '../../activities/web/index.js';

export interface Loopback {
  host: string;
  port: number;
  origin: string;
  /** Requests (HTTP servers) or connections (canaries and raw servers) seen so far. */
  hits: () => number;
  close: () => Promise<void>;
}

function track(server: net.Server, host: string, count: () => number): Loopback {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host,
    port,
    origin: `http://${host}:${port}`,
    hits: count,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

export async function httpServer(handler: http.RequestListener, host = '127.0.0.1'): Promise<Loopback> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    handler(req, res);
  });
  server.listen(0, host);
  await once(server, 'listening');
  return track(server, host, () => requests);
}

/** A TCP server that counts connections and hands each socket to `onSocket` (default: hang up). */
export async function rawServer(
  host = '127.0.0.1',
  onSocket: (s: net.Socket) => void = (s) => s.destroy(),
  port = 0,
): Promise<Loopback> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections += 1;
    s.on('error', () => {});
    onSocket(s);
  });
  server.listen(port, host);
  await once(server, 'listening');
  return track(server, host, () => connections);
}

/** The fetch config a test gets from the real config module, loopback allowlisted only as asked. */
export function testConfig(env: Record<string, string> = {}): FetchConfig {
  return loadConfig(env).fetch;
}

/** A resolver answering from a table (each entry a list of answers, one per call, the last repeated). */
export function fakeResolver(table: Record<string, string[][]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    const answer = answers[Math.min(calls.filter((c) => c === hostname).length - 1, answers.length - 1)] ?? [];
    return answer.map((address) => ({ address, family: net.isIP(address) }));
  };
  return Object.assign(resolve, { calls });
}

/**
 * A base connector that opens no socket: it does what `net.connect` does with a lookup (literal
 * addresses skip it, names go through it with `all: true`, as on Node 20) and records the address
 * it would have connected to, then fails as a refused connection would.
 */
export function countingConnector(attempts: string[]) {
  return ({ lookup }: { lookup: net.LookupFunction }): buildConnector.connector =>
    (options, callback) => {
      const refuse = (address: string) => {
        attempts.push(address);
        callback(Object.assign(new Error(`connect ECONNREFUSED ${address} (fake)`), { code: 'ECONNREFUSED' }), null);
      };
      if (net.isIP(options.hostname)) return refuse(options.hostname);
      lookup(options.hostname, { all: true }, (err, addresses) => {
        if (err) return callback(err, null);
        refuse((addresses as LookupAddress[])[0]?.address ?? '');
      });
    };
}
