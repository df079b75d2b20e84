import { SLOT_COUNT } from './key-slot.ts';

/** One contiguous run of slots and the nodes that serve it, as CLUSTER SLOTS reports them. */
export interface SlotRange {
  start: number;
  end: number;
  /** "host:port" of the master. */
  master: string;
  /** "host:port" of each replica. */
  replicas: string[];
}

/**
 * Which master owns each of the 16384 slots. Built whole from a topology answer and swapped whole,
 * so a lookup never sees half of an update; MOVED patches single slots in place.
 */
export class SlotMap {
  /** Index into `masters` per slot, or NO_OWNER. */
  readonly owners = new Uint16Array(SLOT_COUNT).fill(NO_OWNER);
  /** Master addresses, "host:port", in first-seen order. */
  readonly masters: string[] = [];
  /** Replica addresses per master address. */
  readonly replicas = new Map<string, string[]>();

  static fromRanges(ranges: SlotRange[]): SlotMap {
    const map = new SlotMap();
    for (const range of ranges) {
      const index = map.indexOf(range.master);
      map.owners.fill(index, range.start, range.end + 1);
      const known = map.replicas.get(range.master) ?? [];
      for (const replica of range.replicas) if (!known.includes(replica)) known.push(replica);
      map.replicas.set(range.master, known);
    }
    return map;
  }

  /** The master address for `slot`, or undefined when no node serves it. */
  ownerOf(slot: number): string | undefined {
    const index = this.owners[slot];
    return index === NO_OWNER ? undefined : this.masters[index];
  }

  /** Points one slot at `master` (after a MOVED). */
  assign(slot: number, master: string): void {
    this.owners[slot] = this.indexOf(master);
  }

  /** How many slots have no owner. */
  unassignedCount(): number {
    let count = 0;
    for (let slot = 0; slot < SLOT_COUNT; slot++) if (this.owners[slot] === NO_OWNER) count++;
    return count;
  }

  /** True when both maps give every slot the same master. */
  sameOwners(other: SlotMap): boolean {
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      if (this.ownerOf(slot) !== other.ownerOf(slot)) return false;
    }
    return true;
  }

  private indexOf(master: string): number {
    let index = this.masters.indexOf(master);
    if (index === -1) {
      index = this.masters.length;
      this.masters.push(master);
    }
    return index;
  }
}

export const NO_OWNER = 0xffff;
