import { encodeBulk } from '../../resp/encode.ts';
import { isError, readString } from '../../resp/reply-reader.ts';

/** Facts about slotgate itself for the "# Proxy" section of INFO. */
export interface ProxyInfo {
  version: string;
  masters: number;
  clients: number;
  redirectsMoved: number;
  redirectsAsk: number;
  /** Requests held for a retry now, ever, and that ran out of budget; the longest wait seen. */
  parkedNow: number;
  parkedTotal: number;
  retryBudgetExpired: number;
  longestParkMs: number;
  /** Health of every node slotgate keeps connections to. */
  nodes: { address: string; role: string; health: string; inFlight: number }[];
}

/**
 * INFO through the proxy: the first master's text for the per-server sections (they describe one
 * Redis, and the masters run the same version), the Keyspace summed over all masters, and a Proxy
 * section. cluster_enabled reads 0: to the client, slotgate is one standalone server, and some
 * clients switch to cluster mode when they see 1. Reads RESP2's bulk string and RESP3's verbatim one.
 */
export function mergeInfo(allParts: Buffer[], proxy: ProxyInfo): Buffer {
  // A master that could not answer (down, frozen, being failed over) is left out rather than
  // failing the whole INFO: ioredis's ready check is an INFO, and no client should wait on a
  // failover to connect. The Proxy section says how many are missing.
  const parts = allParts.filter((part) => !isError(part));
  if (parts.length === 0) return allParts[0];
  const texts = parts.map((part) => readString(part) ?? '');
  const keyspace = new Map<string, { keys: number; expires: number; avgTtl: number }>();
  for (const text of texts) {
    for (const match of text.matchAll(/^(db\d+):keys=(\d+),expires=(\d+),avg_ttl=(\d+)/gm)) {
      const entry = keyspace.get(match[1]) ?? { keys: 0, expires: 0, avgTtl: 0 };
      entry.keys += Number(match[2]);
      entry.expires += Number(match[3]);
      entry.avgTtl = Math.max(entry.avgTtl, Number(match[4]));
      keyspace.set(match[1], entry);
    }
  }
  const sections = (texts[0] ?? '').split(/\r\n(?=# )/);
  const out: string[] = [];
  for (const section of sections) {
    if (section.startsWith('# Keyspace')) {
      out.push(['# Keyspace', ...[...keyspace].map(([db, e]) => `${db}:keys=${e.keys},expires=${e.expires},avg_ttl=${e.avgTtl}`)].join('\r\n') + '\r\n');
    } else {
      out.push(section.replace(/^cluster_enabled:1/m, 'cluster_enabled:0'));
    }
  }
  const proxySection = [
    '# Proxy',
    'proxy:slotgate',
    `proxy_version:${proxy.version}`,
    `process_id:${process.pid}`,
    `cluster_masters:${proxy.masters}`,
    `connected_clients:${proxy.clients}`,
    `redirects_moved:${proxy.redirectsMoved}`,
    `redirects_ask:${proxy.redirectsAsk}`,
    `parked_requests:${proxy.parkedNow}`,
    `parked_requests_total:${proxy.parkedTotal}`,
    `retry_budget_expired_total:${proxy.retryBudgetExpired}`,
    `longest_park_ms:${proxy.longestParkMs}`,
    `info_masters_missing:${allParts.length - parts.length}`,
    ...proxy.nodes.map((node, i) => `node${i}:address=${node.address},role=${node.role},health=${node.health},in_flight=${node.inFlight}`),
  ].join('\r\n');
  // Sections are separated by a blank line; the Proxy section goes first, so it is found at once.
  const body = [proxySection + '\r\n', ...out.map((section) => section.replace(/(\r\n)*$/, '\r\n'))].join('\r\n');
  // In the form the nodes used: a bulk string in RESP2, a verbatim string ("txt") in RESP3.
  if (parts[0]?.[0] !== 61 /* = */) return encodeBulk(body);
  const bytes = Buffer.from(body);
  return Buffer.concat([Buffer.from(`=${bytes.length + 4}\r\ntxt:`), bytes, Buffer.from('\r\n')]);
}
