/** A MOVED or ASK error from a cluster node, decoded. */
export interface Redirect {
  ask: boolean;
  slot: number;
  /** "host:port" of the node to go to. */
  address: string;
}

const MOVED = Buffer.from('-MOVED ');
const ASK = Buffer.from('-ASK ');

/**
 * Decodes "-MOVED <slot> <host>:<port>\r\n" or "-ASK ...". Returns null for any other reply.
 * Redis may leave the host empty ("-MOVED 3999 :7001") to mean "the node you asked": `fromHost`
 * fills it in.
 */
export function parseRedirect(reply: Buffer, fromHost: string): Redirect | null {
  let ask: boolean;
  if (startsWith(reply, MOVED)) ask = false;
  else if (startsWith(reply, ASK)) ask = true;
  else return null;
  const text = reply.toString('latin1', ask ? ASK.length : MOVED.length).trimEnd();
  const space = text.indexOf(' ');
  if (space <= 0) return null;
  const slot = Number(text.slice(0, space));
  let address = text.slice(space + 1);
  if (!Number.isInteger(slot) || slot < 0 || slot > 16383) return null;
  const colon = address.lastIndexOf(':');
  if (colon < 0) return null;
  if (colon === 0) address = fromHost + address;
  return { ask, slot, address };
}

function startsWith(reply: Buffer, prefix: Buffer): boolean {
  return reply.length > prefix.length && reply.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
