import type { Redis } from 'ioredis';
import { CommandTable } from './command-table.ts';
import { parseCommandReply } from './parse-command-reply.ts';

/**
 * Asks one node for its whole command table (`COMMAND`) and builds ours from it, so every command
 * the backend knows, module commands included, routes by its real keys. `warnings` lists the
 * entries and key specs that could not be read (skipped, or keys taken as unknown): worth logging
 * once at start-up. Rejects when the node fails to answer or knows no command at all.
 */
export async function loadCommandTable(
  redis: Pick<Redis, 'call'>,
): Promise<{ table: CommandTable; warnings: string[] }> {
  const reply = await redis.call('COMMAND');
  const warnings: string[] = [];
  const specs = parseCommandReply(reply, warnings);
  if (specs.length === 0) throw new Error('COMMAND returned no usable command');
  return { table: CommandTable.fromSpecs(specs), warnings };
}
