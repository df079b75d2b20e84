import { describe, expect, it } from 'vitest';
import { chooseSlotMap } from '../../../src/cluster/choose-slot-map.ts';
import { SlotMap } from '../../../src/cluster/slot-map.ts';

const current = SlotMap.fromRanges([
  { start: 0, end: 8191, master: 'a:1', replicas: ['c:3'] },
  { start: 8192, end: 16383, master: 'b:2', replicas: ['d:4'] },
]);
const failedOver = SlotMap.fromRanges([
  { start: 0, end: 8191, master: 'c:3', replicas: [] },
  { start: 8192, end: 16383, master: 'b:2', replicas: ['d:4'] },
]);

describe('chooseSlotMap', () => {
  it('takes the map most nodes report', () => {
    const chosen = chooseSlotMap([
      { address: 'b:2', map: failedOver },
      { address: 'c:3', map: failedOver },
      { address: 'd:4', map: failedOver },
      { address: 'stale:9', map: current },
    ]);
    expect(chosen?.map.ownerOf(0)).toBe('c:3');
    expect(chosen?.voters).toEqual(['b:2', 'c:3', 'd:4']);
  });

  it('lets no single stale node flip the map', () => {
    const chosen = chooseSlotMap([
      { address: 'stale:9', map: failedOver },
      { address: 'a:1', map: current },
      { address: 'b:2', map: current },
    ]);
    expect(chosen?.map.ownerOf(0)).toBe('a:1');
  });

  it('takes nothing while the nodes are split evenly', () => {
    expect(chooseSlotMap([
      { address: 'a:1', map: current },
      { address: 'c:3', map: failedOver },
    ])).toBeNull();
  });

  it('trusts a lone answer (start-up from one seed)', () => {
    expect(chooseSlotMap([{ address: 'a:1', map: current }])?.map).toBe(current);
    expect(chooseSlotMap([])).toBeNull();
  });
});
