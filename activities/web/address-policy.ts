/**
 * Which IP addresses the fetcher may connect to (reliability A2, S1). Only public unicast
 * addresses pass: every special-purpose range ipaddr.js knows is refused (loopback, private,
 * link-local, CGNAT, multicast, unspecified, broadcast, reserved, unique local, NAT64, 6to4,
 * Teredo...), and IPv6 outside global unicast (2000::/3). An IPv4-mapped IPv6 address is
 * judged as the IPv4 address it carries, so `::ffff:a9fe:a9fe` is 169.254.169.254.
 *
 * The allowlist (FETCH_ALLOW_PRIVATE_RANGES) exempts ranges, after that normalisation; cloud
 * metadata endpoints are refused even then: no test or on-prem source needs them, and they
 * hand out credentials.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type AddressRange = [Address, number];

/** A refusal: the address as shown to a client, and what it is ("private", "a cloud metadata endpoint"...). */
export interface AddressRefusal {
  shown: string;
  what: string;
}

/**
 * Cloud metadata and credential endpoints, refused even inside an allowlisted range. Most sit
 * in ranges refused anyway; Azure's WireServer is a public address, so only this list stops it.
 * - 169.254.169.254: AWS, GCP (metadata.google.internal), Azure IMDS, OpenStack, Oracle, DigitalOcean...
 * - fd00:ec2::254: AWS IMDS over IPv6; 169.254.170.2: AWS ECS task metadata and credentials;
 *   169.254.170.23 and fd00:ec2::23: the EKS Pod Identity agent (credentials), per AWS's
 *   "Set up the Amazon EKS Pod Identity Agent".
 * - 168.63.129.16: Azure WireServer (VM agent, DNS, DHCP; "What is IP address 168.63.129.16?").
 * - fd20:ce::254: GCP's metadata server for IPv6-only instances.
 * - 100.100.100.200: Alibaba Cloud ECS; 192.0.0.192: Oracle Cloud (legacy); 169.254.0.23: Tencent
 *   Cloud (metadata.tencentyun.com).
 */
const METADATA = new Set([
  '169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '169.254.170.23', 'fd00:ec2::23',
  '168.63.129.16', 'fd20:ce::254', '100.100.100.200', '192.0.0.192', '169.254.0.23',
]);

const RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private',
  reserved: 'reserved',
  uniqueLocal: 'unique local',
};

const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/** The allowlist, parsed; throws on anything that is not an address or a CIDR range. */
export function parseAddressRanges(ranges: readonly string[]): AddressRange[] {
  return ranges.map((range) => {
    try {
      if (range.includes('/')) return ipaddr.parseCIDR(range);
      const address = ipaddr.parse(range);
      return [address, address.kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new Error(`"${range}" is not an address range`);
    }
  });
}

/** Strict: only the canonical literal forms `net` accepts (never ipaddr.js's lenient `0x7f.1` or `0177.1`). */
function parseStrict(literal: string): Address | null {
  const bare = literal.startsWith('[') && literal.endsWith(']') ? literal.slice(1, -1) : literal;
  if (isIP(bare) === 0) return null;
  const address = ipaddr.parse(bare);
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

function inRange(address: Address, [range, bits]: AddressRange): boolean {
  if (address instanceof ipaddr.IPv4) return range instanceof ipaddr.IPv4 && address.match(range, bits);
  return range instanceof ipaddr.IPv6 && address.match(range, bits);
}

/** Why the address may not be connected to, or null when it may. */
export function addressRefusal(literal: string, allow: readonly AddressRange[]): AddressRefusal | null {
  const address = parseStrict(literal);
  const original = literal.replace(/^\[|\]$/g, '');
  if (!address) return { shown: original, what: 'not an IP address' };
  const canonical = address.toString();
  const shown = isIP(original) === 6 && address.kind() === 'ipv4' ? `${ipaddr.parse(original).toString()} (IPv4 ${canonical})` : canonical;
  if (METADATA.has(canonical)) return { shown, what: 'a cloud metadata endpoint' };
  if (allow.some((range) => inRange(address, range))) return null;
  const range = address.range();
  if (range !== 'unicast') return { shown, what: RANGE_WORDS[range] ?? 'not a public unicast address' };
  if (address instanceof ipaddr.IPv6 && !address.match(GLOBAL_UNICAST)) return { shown, what: 'not a public unicast address' };
  return null;
}

/** "the address 10.0.0.1 is private: refused" */
export function describeAddressRefusal(r: AddressRefusal): string {
  return `the address ${r.shown} is ${r.what}: refused`;
}

/**
 * "the host db.internal resolves to an address that is private: refused". Never the address:
 * the user gave a name, and the answers of the worker's resolver would otherwise map its
 * internal DNS for them. The connector logs the address for operators.
 */
export function describeLookupRefusal(hostname: string, r: AddressRefusal): string {
  return `the host ${hostname} resolves to an address that is ${r.what}: refused`;
}
