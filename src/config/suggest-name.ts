/**
 * Picks the known name an operator most likely meant when they typed `given` (a misspelt YAML key
 * or flag), or undefined when nothing is close. Spelling variants of the same words (kebab-case,
 * snake_case, other capitalisation) always match, so `connections-per-node` in YAML points at
 * `connectionsPerNode`; otherwise up to two typing mistakes are forgiven.
 */
export function suggestName(given: string, known: readonly string[]): string | undefined {
  const wanted = squash(given);
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const distance = editDistance(wanted, squash(name));
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

function squash(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** Levenshtein distance; the strings are short setting names, so the quadratic table is fine. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
