import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { CommandTable } from '../../../src/commands/command-table.ts';
import { parseCommandReply } from '../../../src/commands/parse-command-reply.ts';
import { CommandPolicies } from '../../../src/proxy/command-policy.ts';
import { Transaction } from '../../../src/proxy/transaction.ts';
import { RequestParser } from '../../../src/resp/request-parser.ts';

const fixture = new URL('../../fixtures/command-reply-redis-7.0.json', import.meta.url);
const table = CommandTable.fromSpecs(parseCommandReply(JSON.parse(readFileSync(fixture, 'utf8'))));
const policies = new CommandPolicies(table);
const limits = { protoMaxBulkLen: 512 * 1024 * 1024, maxMultibulkLength: 1024 * 1024 };

it('keeps a copy of each queued command, not the read that brought it', () => {
  const transaction = new Transaction();
  // One read: a small SET, then a large request that is not queued (one slotgate refused, say).
  const read = Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$4\r\nECHO\r\n$60000\r\n${'x'.repeat(60000)}\r\n`);
  let queued = false;
  const parser = new RequestParser(
    {
      onRequest(view) {
        if (queued) return;
        queued = true;
        const spec = table.lookup(view);
        if (spec === undefined) throw new Error('SET not in the table');
        expect(transaction.queue(spec, view, policies.kindOf(spec), policies, limits)).toBeNull();
      },
      onProtocolError(message) {
        throw new Error(message);
      },
    },
    limits,
  );
  parser.feed(read);
  expect(transaction.frames[0].toString()).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n');
  // A view into the read would keep all of it alive for as long as the client leaves MULTI open.
  expect(transaction.frames[0].buffer).not.toBe(read.buffer);
});
