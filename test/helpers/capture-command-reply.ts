/**
 * Captures the raw `COMMAND` reply of a running Redis, exactly as ioredis hands it to
 * loadCommandTable, into a JSON fixture so the command-table tests run without a server.
 *
 *   node test/helpers/capture-command-reply.ts <port> test/fixtures/command-reply-redis-<version>.json
 */
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';

const port = Number(process.argv[2] ?? 6379);
const out = process.argv[3];
if (!out) {
  console.error('usage: capture-command-reply.ts <port> <output.json>');
  process.exit(2);
}

const redis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
try {
  await redis.connect();
  const reply = await redis.call('COMMAND');
  if (!Array.isArray(reply)) throw new Error('COMMAND did not reply with an array');
  // One command per line, sorted by name: the server's order is its hash-table order, and a sorted
  // file diffs cleanly against a capture from another version.
  const entries = [...reply].sort((a, b) => String(a?.[0]).localeCompare(String(b?.[0])));
  writeFileSync(out, '[\n' + entries.map((entry) => JSON.stringify(entry)).join(',\n') + '\n]\n');
  console.log(`wrote ${entries.length} commands to ${out}`);
} finally {
  redis.disconnect();
}
