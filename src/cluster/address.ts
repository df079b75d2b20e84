/** "host:port" as Redis shows a client's address (CLIENT LIST's addr=): an IPv6 host in brackets. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  return host !== undefined && host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Splits "host:port" at the last colon. An IPv6 host may be written in brackets ("[::1]:7000", as
 * operators write it in config) or bare ("::1:7000", as Redis writes it in MOVED and CLUSTER SLOTS).
 */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(address.slice(colon + 1)) };
}
