/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['*', '$', '\r\n', '3', '-1', '0', '99999999999', 'GET', 'SET', 'MGET', 'key', '"', "'", ' ', '\\x4', '+OK', ':', '%', '|', '>', '\n'];

/** Bytes that look like RESP often enough to reach deep parser states: pieces of it, mangled. */
export function respLikeGarbage(next: () => number, length: number): Buffer {
  const out: number[] = [];
  while (out.length < length) {
    if (next() < 0.3) out.push(Math.floor(next() * 256));
    else for (const c of Buffer.from(PIECES[Math.floor(next() * PIECES.length)])) out.push(c);
  }
  return Buffer.from(out.slice(0, length));
}
