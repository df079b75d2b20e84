import type { SlotMap } from './slot-map.ts';

/** A slot map as one node reported it. */
export interface NodeAnswer {
  address: string;
  map: SlotMap;
}

/**
 * Picks the slot map that more than half of the answering nodes agree on, or null when none has a
 * majority. One node with a stale view (cut off on the minority side, or just restarted from an old
 * nodes.conf) is thus outvoted instead of flipping slotgate's map; while the cluster itself is
 * changing its mind (an election), slotgate keeps what it has and asks again.
 */
export function chooseSlotMap(answers: NodeAnswer[]): { map: SlotMap; voters: string[] } | null {
  const groups: { map: SlotMap; voters: string[] }[] = [];
  for (const answer of answers) {
    const group = groups.find((candidate) => candidate.map.sameOwners(answer.map));
    if (group === undefined) groups.push({ map: answer.map, voters: [answer.address] });
    else group.voters.push(answer.address);
  }
  let best: { map: SlotMap; voters: string[] } | null = null;
  for (const group of groups) if (best === null || group.voters.length > best.voters.length) best = group;
  if (best === null || best.voters.length * 2 <= answers.length) return null;
  return best;
}
