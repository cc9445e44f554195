/**
 * The guard where the socket is opened (reliability A2, S1, S2). undici has no SSRF guard of
 * its own, so the Agent's connector does two things:
 *  - names go through a checked `lookup`, which `net.connect` calls for the very connection it
 *    opens: the address checked is the address connected to, so DNS rebinding cannot swap it
 *    afterwards. On Node 20 `net.connect` asks with `{ all: true }` (happy eyeballs) and needs an
 *    array back; every answer must pass, or the name is refused whole.
 *  - literal addresses skip `lookup` inside `net.connect` (a known bypass), so the connector
 *    checks them itself before it hands over.
 * One connector serves http and https alike, so a redirect across schemes meets the same guard.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import {
  addressRefusal, describeAddressRefusal, describeLookupRefusal, type AddressRange,
} from './address-policy.js';
import { activityLog } from '../errors.js';
import { fetchFailure } from './errors.js';

/** Every address a name resolves to. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

/** Builds the connector that opens sockets once the guard is satisfied; tests pass one that opens none. */
export type BaseConnectorFactory = (options: { lookup: LookupFunction; timeout: number }) => buildConnector.connector;

export interface ConnectorDeps {
  resolve?: Resolver;
  baseConnector?: BaseConnectorFactory;
  connectTimeoutMs: number;
}

/** The operating system's resolver, in its own order (no IPv4-first reordering). */
export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** RFC 6761: `localhost` and `*.localhost` are loopback, answered here and never asked of DNS. */
const LOCALHOST: LookupAddress[] = [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }];

function notFound(hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
}

async function resolveChecked(hostname: string, allow: readonly AddressRange[], resolve: Resolver): Promise<LookupAddress[]> {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  const addresses = name === 'localhost' || name.endsWith('.localhost') ? LOCALHOST : await resolve(name);
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, allow);
    if (refusal) {
      // The address is for operators only; the failure (which the user reads) names the host.
      activityLog()?.warn('fetch refused: a name resolves to a refused address', { hostname, address: refusal.shown, what: refusal.what });
      throw fetchFailure('UrlBlocked', describeLookupRefusal(hostname, refusal));
    }
  }
  return addresses;
}

/** A `net`-compatible lookup that refuses a name when any of its addresses is refused. */
export function checkedLookup(allow: readonly AddressRange[], resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    resolveChecked(hostname, allow, resolve).then(
      (addresses) => {
        const wanted = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        const first = wanted[0];
        if (!first) return callback(notFound(hostname), '', 0);
        if (options.all) return callback(null, wanted);
        callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, '', 0),
    );
  };
}

const defaultBase: BaseConnectorFactory = ({ lookup, timeout }) => buildConnector({ lookup, timeout });

/** The Agent's `connect`: literal addresses are checked here, names by the checked lookup. */
export function createGuardedConnector(allow: readonly AddressRange[], deps: ConnectorDeps): buildConnector.connector {
  const lookup = checkedLookup(allow, deps.resolve ?? systemResolver);
  const base = (deps.baseConnector ?? defaultBase)({ lookup, timeout: deps.connectTimeoutMs });
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const refusal = addressRefusal(host, allow);
      if (refusal) return callback(fetchFailure('UrlBlocked', describeAddressRefusal(refusal)), null);
    }
    return base(options, callback);
  };
}
