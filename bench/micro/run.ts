/**
 * Micro-benchmarks of slotgate's hot-path pieces, with no npm script or framework in between:
 *
 *   node_modules/.bin/node bench/micro/run.ts [--only <group substring>] [--no-append] [--results FILE]
 *
 * Each case is warmed up, then timed in 5 samples of plain process.hrtime.bigint() loops; the table
 * gives the median ns per operation and the spread of the samples. The table is printed and
 * appended, with the date and machine, to bench/MICRO.md. The whole run takes well under a minute.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commandLookupCases } from './command-lookup.ts';
import { type CaseResult, defaultTiming, markdownTable } from './harness.ts';
import { emptyTagReport, keySlotCases } from './key-slot.ts';
import { replyScanningCases } from './reply-scanning.ts';
import { requestParsingCases } from './request-parsing.ts';
import { splitMergeCases } from './split-merge.ts';
import { writeBatchCases } from './write-batch.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    'no-append': { type: 'boolean', default: false },
    results: { type: 'string', default: fileURLToPath(new URL('../MICRO.md', import.meta.url)) },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: node bench/micro/run.ts [--only <group substring>] [--no-append] [--results FILE]');
  process.exit(0);
}

const groups: { name: string; run: () => CaseResult[] | Promise<CaseResult[]> }[] = [
  { name: 'request parsing', run: () => requestParsingCases(defaultTiming) },
  { name: 'reply scanning', run: () => replyScanningCases(defaultTiming) },
  { name: 'keySlot', run: () => keySlotCases(defaultTiming) },
  { name: 'command lookup', run: () => commandLookupCases(defaultTiming) },
  { name: 'write batch', run: () => writeBatchCases(defaultTiming) },
  { name: 'split MGET', run: () => splitMergeCases(defaultTiming) },
];

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  let redis = '';
  try {
    redis = ` (redis-parser ${requireVersion('redis-parser')}, cluster-key-slot ${requireVersion('cluster-key-slot')})`;
  } catch {
    // versions are a nicety
  }
  return `nproc ${cpus().length}, ${cpu}; node ${process.version}; linux ${release()}${redis}`;
}

function requireVersion(name: string): string {
  const out = execFileSync(process.execPath, ['-p', `require('${name}/package.json').version`], { encoding: 'utf8' });
  return out.trim();
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = loadavg().map((n) => n.toFixed(2)).join(', ');
  const results: CaseResult[] = [];
  for (const group of groups) {
    if (values.only !== undefined && !group.name.includes(values.only)) continue;
    const groupStart = Date.now();
    process.stderr.write(`${group.name} ...`);
    results.push(...(await group.run()));
    process.stderr.write(` ${((Date.now() - groupStart) / 1000).toFixed(1)} s\n`);
  }
  const table = markdownTable(results);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const slotNotes = emptyTagReport();
  const report = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `- machine: ${machine()}`,
    `- load average before the run: ${load}; run took ${seconds} s`,
    `- command: \`node_modules/.bin/node bench/micro/run.ts${values.only === undefined ? '' : ` --only '${values.only}'`}\``,
    `- each case: ${defaultTiming.warmupMs} ms warm-up, then ${defaultTiming.samples} samples of ~${defaultTiming.sampleMs} ms; spread = (max - min) / median`,
    `- key slots where cluster-key-slot and Redis disagree (empty hash tag): ${slotNotes.join('; ')}`,
    '',
    table,
    '',
  ].join('\n');
  console.log(report);
  if (!values['no-append']) {
    if (!existsSync(values.results)) {
      writeFileSync(values.results, '# Micro-benchmark results\n\nAppended by `node_modules/.bin/node bench/micro/run.ts`, newest last.\n\n');
    }
    appendFileSync(values.results, `${report}\n`);
    process.stderr.write(`appended to ${values.results}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
