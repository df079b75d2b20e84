/**
 * Splits an inline command line into arguments the way Redis does (sdssplitargs): words separated
 * by blanks, "double quotes" with \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' with \'.
 * Returns null for unbalanced quotes, or a closing quote not followed by a blank, as Redis refuses both.
 */
export function splitInlineArgs(buffer: Buffer, start: number, end: number): Buffer[] | null {
  const args: Buffer[] = [];
  let i = start;
  while (true) {
    while (i < end && isBlank(buffer[i])) i++;
    if (i >= end) return args;
    const first = buffer[i];
    if (first !== 34 /* " */ && first !== 39 /* ' */) {
      // The common case: a bare word, taken as a slice of the line.
      let j = i;
      while (j < end && !isBlank(buffer[j]) && buffer[j] !== 34 && buffer[j] !== 39) j++;
      if (j === end || isBlank(buffer[j])) {
        args.push(buffer.subarray(i, j));
        i = j;
        continue;
      }
    }
    const parsed = readQuotedWord(buffer, i, end);
    if (parsed === null) return null;
    args.push(parsed.word);
    i = parsed.next;
  }
}

/** Reads one word that contains quotes somewhere, byte by byte, unescaping as it goes. */
function readQuotedWord(buffer: Buffer, start: number, end: number): { word: Buffer; next: number } | null {
  const out: number[] = [];
  let quote = 0;
  let i = start;
  while (i < end) {
    const c = buffer[i];
    if (quote === 34) {
      if (c === 92 /* \ */ && i + 3 < end && buffer[i + 1] === 120 /* x */ && isHex(buffer[i + 2]) && isHex(buffer[i + 3])) {
        out.push(hexValue(buffer[i + 2]) * 16 + hexValue(buffer[i + 3]));
        i += 4;
        continue;
      }
      if (c === 92 && i + 1 < end) {
        out.push(unescape(buffer[i + 1]));
        i += 2;
        continue;
      }
      if (c === 34) {
        if (i + 1 < end && !isBlank(buffer[i + 1])) return null;
        return { word: Buffer.from(out), next: i + 1 };
      }
      out.push(c);
      i++;
    } else if (quote === 39) {
      if (c === 92 && i + 1 < end && buffer[i + 1] === 39) {
        out.push(39);
        i += 2;
        continue;
      }
      if (c === 39) {
        if (i + 1 < end && !isBlank(buffer[i + 1])) return null;
        return { word: Buffer.from(out), next: i + 1 };
      }
      out.push(c);
      i++;
    } else {
      if (isBlank(c)) break;
      if (c === 34 || c === 39) quote = c;
      else out.push(c);
      i++;
    }
  }
  if (quote !== 0) return null;
  return { word: Buffer.from(out), next: i };
}

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 0;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexValue(c: number): number {
  if (c <= 57) return c - 48;
  if (c >= 97) return c - 87;
  return c - 55;
}

function unescape(c: number): number {
  switch (c) {
    case 110: return 10; // \n
    case 114: return 13; // \r
    case 116: return 9; // \t
    case 98: return 8; // \b
    case 97: return 7; // \a
    default: return c;
  }
}
