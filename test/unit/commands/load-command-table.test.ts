import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadCommandTable } from '../../../src/commands/load-command-table.ts';

const fixture = new URL('../../fixtures/command-reply-redis-7.0.json', import.meta.url);
const reply = JSON.parse(readFileSync(fixture, 'utf8')) as unknown;

/** Stands in for an ioredis connection that answers COMMAND with `answer`. */
function fakeRedis(answer: unknown): Pick<Redis, 'call'> & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  const call = async (...args: unknown[]) => {
    calls.push(args);
    return answer;
  };
  return { call: call as unknown as Redis['call'], calls };
}

describe('loadCommandTable', () => {
  it('builds the table from one COMMAND call', async () => {
    const redis = fakeRedis(reply);
    const { table, warnings } = await loadCommandTable(redis);
    expect(redis.calls).toEqual([['COMMAND']]);
    expect(warnings).toEqual([]);
    expect(table.get('get')?.arity).toBe(2);
    expect(table.get('object|encoding')?.parent?.name).toBe('object');
  });

  it('passes on warnings about odd entries', async () => {
    const { table, warnings } = await loadCommandTable(fakeRedis([['get', 2, ['readonly'], 1, 1, 1], null]));
    expect(table.size).toBe(1);
    expect(warnings).toHaveLength(1);
  });

  it('rejects a reply with no usable command', async () => {
    await expect(loadCommandTable(fakeRedis([]))).rejects.toThrow(/no usable command/);
    await expect(loadCommandTable(fakeRedis('OK'))).rejects.toThrow(TypeError);
  });
});
