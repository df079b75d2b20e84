/** Small RESP encoders for replies slotgate makes itself and commands it sends on its own. */

const CRLF = '\r\n';

/** Encodes a command (an array of bulk strings), e.g. to send ASKING or an inline request. */
export function encodeCommand(args: (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}${CRLF}`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}${CRLF}`), bytes, CRLF_BYTES);
  }
  return Buffer.concat(parts);
}

/** An error reply. `message` starts with its code ("ERR ...", "CROSSSLOT ..."); CR and LF are replaced, as Redis does. */
export function encodeError(message: string): Buffer {
  return Buffer.from(`-${message.replace(/[\r\n]/g, ' ')}${CRLF}`);
}

export function encodeSimple(text: string): Buffer {
  return Buffer.from(`+${text}${CRLF}`);
}

export function encodeInteger(value: number | bigint): Buffer {
  return Buffer.from(`:${value}${CRLF}`);
}

export function encodeBulk(value: Buffer | string | null): Buffer {
  if (value === null) return NULL_BULK;
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from(`$${bytes.length}${CRLF}`), bytes, CRLF_BYTES]);
}

/** An array reply whose elements are already encoded. */
export function encodeArray(elements: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`*${elements.length}${CRLF}`), ...elements]);
}

const CRLF_BYTES = Buffer.from(CRLF);
export const NULL_BULK = Buffer.from(`$-1${CRLF}`);
export const OK_REPLY = Buffer.from(`+OK${CRLF}`);
export const PONG_REPLY = Buffer.from(`+PONG${CRLF}`);
