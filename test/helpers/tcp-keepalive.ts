import { readFileSync } from 'node:fs';

/**
 * Seconds until the keepalive timer of the IPv4 loopback connection from `localPort` to
 * `remotePort` fires, as Linux reports it in /proc/net/tcp; null when that connection has no
 * keepalive timer running (keepalive off). An idle connection with keepalive on always has one.
 */
export function keepaliveTimerSeconds(localPort: number, remotePort: number): number | null {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when ...
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6 || !fields[1].endsWith(`:${hex(localPort)}`) || !fields[2].endsWith(`:${hex(remotePort)}`)) continue;
    const [timer, when] = fields[5].split(':');
    // Timer 2 is keepalive; its time is in clock ticks (USER_HZ, 100 a second on Linux).
    return timer === '02' ? parseInt(when, 16) / 100 : null;
  }
  throw new Error(`no connection from port ${localPort} to port ${remotePort} in /proc/net/tcp`);
}
