import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../../src/resp/encode.ts';
import { arrayElements, isError, readArrayHeader, readInteger, readString } from '../../../src/resp/reply-reader.ts';
import type { Fanout } from '../../../src/proxy/split/fanout.ts';
import { mergeInfo, type ProxyInfo } from '../../../src/proxy/split/merge-info.ts';
import {
  allSucceeded,
  concatArrays,
  sumCountsByChannel,
  distinctElements,
  maxInteger,
  minInteger,
  minOfIntegerArrays,
  msetResult,
  newestSlowlogEntries,
  reorderArrays,
  sumIntegers,
} from '../../../src/proxy/split/merge-replies.ts';

/** RESP text as bytes. */
function resp(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** A reply as readable text, CR LF shown as "|". */
function text(reply: Buffer): string {
  return reply.toString('latin1').replace(/\r\n/g, '|');
}

/** The part of a Fanout that reorderArrays reads: where each value sent belongs. */
function withOrder(order: number[]): Fanout {
  return { order: Int32Array.from(order) } as unknown as Fanout;
}

/** The part of a Fanout that msetResult reads: the frame sent for each part. */
function withFrames(frames: string[][]): Fanout {
  return { frames: frames.map((args) => encodeCommand(args)) } as unknown as Fanout;
}

describe('sumIntegers', () => {
  it('adds the integers of every part', () => {
    expect(text(sumIntegers([resp(':3\r\n'), resp(':0\r\n'), resp(':12\r\n')]))).toBe(':15|');
  });

  it('handles a single part and negative values', () => {
    expect(text(sumIntegers([resp(':7\r\n')]))).toBe(':7|');
    expect(text(sumIntegers([resp(':-2\r\n'), resp(':5\r\n')]))).toBe(':3|');
  });

  it('returns the first error by part order rather than a partial sum', () => {
    const parts = [resp(':1\r\n'), resp('-ERR first\r\n'), resp('-ERR second\r\n')];
    expect(text(sumIntegers(parts))).toBe('-ERR first|');
  });

  it('reports a part that is not an integer', () => {
    const reply = text(sumIntegers([resp(':1\r\n'), resp('+OK\r\n')]));
    expect(reply).toMatch(/^-ERR slotgate: unexpected reply from a node while merging: \+OK/);
  });
});

describe('allSucceeded', () => {
  it("returns the first part's reply when all succeeded", () => {
    const sha = resp('$40\r\na42059b356c875f0717db19a51f6aaca9ae659ea\r\n');
    expect(allSucceeded([sha, Buffer.from(sha), Buffer.from(sha)])).toBe(sha);
  });

  it('returns the first error when any part failed', () => {
    const parts = [resp('+OK\r\n'), resp('+OK\r\n'), resp('-ERR Library already exists\r\n')];
    expect(text(allSucceeded(parts))).toBe('-ERR Library already exists|');
  });

  it('treats a RESP3 blob error as an error', () => {
    expect(text(allSucceeded([resp('+OK\r\n'), resp('!5\r\nERR x\r\n')]))).toBe('!5|ERR x|');
  });
});

/** A merged reply as one buffer, whether it came whole or in pieces. */
function joined(reply: Buffer | Buffer[]): Buffer {
  return Array.isArray(reply) ? Buffer.concat(reply) : reply;
}

describe('maxInteger', () => {
  it('takes the largest count, or the first error', () => {
    expect(text(maxInteger([resp(':1\r\n'), resp(':3\r\n'), resp(':0\r\n')]))).toBe(':3|');
    expect(text(maxInteger([resp(':1\r\n'), resp('-LOADING busy\r\n')]))).toBe('-LOADING busy|');
  });
});

describe('distinctElements', () => {
  it("lists every master's channels once, in the order first met", () => {
    const parts = [resp('*2\r\n$1\r\na\r\n$1\r\nb\r\n'), resp('*0\r\n'), resp('*2\r\n$1\r\nb\r\n$1\r\nc\r\n')];
    expect(text(distinctElements(parts))).toBe('*3|$1|a|$1|b|$1|c|');
    expect(text(distinctElements([resp('*0\r\n'), resp('-LOADING busy\r\n')]))).toBe('-LOADING busy|');
  });
});

describe('sumCountsByChannel', () => {
  it("sums each channel's count over the masters, in the order asked", () => {
    const parts = [resp('*4\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:2\r\n'), resp('*4\r\n$1\r\na\r\n:3\r\n$1\r\nb\r\n:0\r\n')];
    expect(text(sumCountsByChannel(parts))).toBe('*4|$1|a|:3|$1|b|:2|');
    expect(text(sumCountsByChannel([resp('*0\r\n'), resp('*0\r\n')]))).toBe('*0|');
  });

  it('returns the first error, and reports parts that do not line up', () => {
    expect(text(sumCountsByChannel([resp('*0\r\n'), resp('-LOADING busy\r\n')]))).toBe('-LOADING busy|');
    expect(text(sumCountsByChannel([resp('*2\r\n$1\r\na\r\n:0\r\n'), resp('*0\r\n')]))).toMatch(/^-ERR slotgate: unexpected reply/);
  });
});

describe('concatArrays', () => {
  it("joins every part's elements into one array, keeping their bytes", () => {
    const parts = [resp('*2\r\n$1\r\na\r\n$1\r\nb\r\n'), resp('*1\r\n$3\r\nccc\r\n')];
    expect(text(joined(concatArrays(parts)))).toBe('*3|$1|a|$1|b|$3|ccc|');
  });

  it('skips empty and null arrays', () => {
    const parts = [resp('*0\r\n'), resp('*1\r\n$1\r\nx\r\n'), resp('*-1\r\n')];
    expect(text(joined(concatArrays(parts)))).toBe('*1|$1|x|');
  });

  it('gives an empty array when every part is empty', () => {
    expect(text(joined(concatArrays([resp('*0\r\n'), resp('*0\r\n')])))).toBe('*0|');
  });

  it('returns the first error', () => {
    expect(text(joined(concatArrays([resp('*0\r\n'), resp('-LOADING busy\r\n')])))).toBe('-LOADING busy|');
  });

  it('reports a part that is not an array', () => {
    expect(text(joined(concatArrays([resp('*0\r\n'), resp(':1\r\n')])))).toMatch(/^-ERR slotgate: unexpected reply/);
  });
});

describe('minOfIntegerArrays', () => {
  it('keeps, element by element, the smallest value over the parts', () => {
    const parts = [resp('*3\r\n:1\r\n:1\r\n:0\r\n'), resp('*3\r\n:1\r\n:0\r\n:1\r\n'), resp('*3\r\n:1\r\n:1\r\n:1\r\n')];
    expect(text(minOfIntegerArrays(parts))).toBe('*3|:1|:0|:0|');
  });

  it('returns a single part unchanged in value', () => {
    expect(text(minOfIntegerArrays([resp('*2\r\n:0\r\n:1\r\n')]))).toBe('*2|:0|:1|');
  });

  it('returns the first error', () => {
    expect(text(minOfIntegerArrays([resp('*1\r\n:1\r\n'), resp('-NOSCRIPT x\r\n')]))).toBe('-NOSCRIPT x|');
  });

  it('reports a part that is not an array', () => {
    expect(text(minOfIntegerArrays([resp('*1\r\n:1\r\n'), resp('+OK\r\n')]))).toMatch(/^-ERR slotgate: unexpected reply/);
  });
});

describe('minInteger', () => {
  it('returns the smallest of the integers', () => {
    expect(text(minInteger([resp(':1700000300\r\n'), resp(':1700000100\r\n'), resp(':1700000200\r\n')]))).toBe(':1700000100|');
  });

  it('returns the first error', () => {
    expect(text(minInteger([resp(':1\r\n'), resp('-ERR down\r\n')]))).toBe('-ERR down|');
  });

  it('reports a part that is not an integer', () => {
    expect(text(minInteger([resp(':1\r\n'), resp('$1\r\n2\r\n')]))).toMatch(/^-ERR slotgate: unexpected reply/);
  });
});

describe('reorderArrays', () => {
  it("puts every part's values back at the positions of their keys in the request", () => {
    // Request MGET k0 k1 k2 k3: k1 and k3 went in the first part, k0 and k2 in the second.
    const parts = [resp('*2\r\n$2\r\nv1\r\n$2\r\nv3\r\n'), resp('*2\r\n$2\r\nv0\r\n$-1\r\n')];
    expect(text(reorderArrays(parts, withOrder([1, 3, 0, 2])))).toBe('*4|$2|v0|$2|v1|$-1|$2|v3|');
  });

  it('keeps values of any type as the node sent them', () => {
    const parts = [resp('*1\r\n$0\r\n\r\n'), resp('*1\r\n$4\r\na\r\nb\r\n')];
    expect(text(reorderArrays(parts, withOrder([1, 0])))).toBe('*2|$4|a|b|$0||');
  });

  it('copies large values and many keys whole', () => {
    // 100 keys over 3 parts, part p holding keys p, p+3, p+6 …; values from 0 to 99 x's long.
    const value = (key: number) => `$${key}\r\n${'x'.repeat(key)}\r\n`;
    const keysOf = (p: number) => Array.from({ length: 100 }, (_, key) => key).filter((key) => key % 3 === p);
    const parts = [0, 1, 2].map((p) => resp(`*${keysOf(p).length}\r\n${keysOf(p).map(value).join('')}`));
    const merged = reorderArrays(parts, withOrder([...keysOf(0), ...keysOf(1), ...keysOf(2)])) as Buffer;
    const expected = `*100\r\n${Array.from({ length: 100 }, (_, key) => value(key)).join('')}`;
    expect(merged.toString()).toBe(expected);
  });

  it('returns the first error', () => {
    const parts = [resp('*1\r\n$1\r\na\r\n'), resp('-MOVED 1 127.0.0.1:1\r\n')];
    expect(text(reorderArrays(parts, withOrder([0, 1])))).toBe('-MOVED 1 127.0.0.1:1|');
  });

  it('refuses parts that hold more values than keys were sent', () => {
    const parts = [resp('*2\r\n$1\r\na\r\n$1\r\nb\r\n'), resp('*1\r\n$1\r\nc\r\n')];
    expect(text(reorderArrays(parts, withOrder([0, 1])))).toMatch(/^-ERR slotgate: /);
  });

  it('refuses parts that hold fewer values than keys were sent', () => {
    const parts = [resp('*1\r\n$1\r\na\r\n'), resp('*0\r\n')];
    expect(text(reorderArrays(parts, withOrder([0, 1])))).toBe('-ERR slotgate: a node answered MGET with the wrong number of values|');
  });

  it('reports a part that is not an array', () => {
    expect(text(reorderArrays([resp('+OK\r\n')], withOrder([0])))).toMatch(/^-ERR slotgate: unexpected reply/);
  });
});

describe('msetResult', () => {
  it('answers OK when every part succeeded', () => {
    const fanout = withFrames([['MSET', 'a', '1'], ['MSET', 'b', '2']]);
    expect(text(msetResult([resp('+OK\r\n'), resp('+OK\r\n')], fanout))).toBe('+OK|');
  });

  it('names the keys of the failed parts and the reason of the first failure', () => {
    const fanout = withFrames([
      ['MSET', 'a', '1', 'c', '3'],
      ['MSET', 'b', '2'],
      ['MSET', 'd', '4', 'e', '5'],
    ]);
    const parts = [resp('-OOM no memory\r\n'), resp('+OK\r\n'), resp('-ERR other\r\n')];
    expect(text(msetResult(parts, fanout))).toBe('-ERR slotgate: MSET was only partly applied; keys not written: a c d e (OOM no memory)|');
  });

  it('names only keys, never values', () => {
    const fanout = withFrames([['MSET', 'key', 'secret-value']]);
    const reply = text(msetResult([resp('-ERR no\r\n')], fanout));
    expect(reply).toContain('keys not written: key (ERR no)');
    expect(reply).not.toContain('secret-value');
  });

  it('shows the first ten keys and counts the rest', () => {
    const args = ['MSET'];
    for (let i = 0; i < 13; i++) args.push(`k${i}`, `v${i}`);
    const reply = text(msetResult([resp('-ERR no\r\n')], withFrames([args])));
    expect(reply).toBe('-ERR slotgate: MSET was only partly applied; keys not written: k0 k1 k2 k3 k4 k5 k6 k7 k8 k9 and 3 more (ERR no)|');
  });

  it('keeps the error on one line when a key holds CR or LF', () => {
    const reply = msetResult([resp('-ERR no\r\n')], withFrames([['MSET', 'a\r\nb', 'v']]));
    expect(reply.toString('latin1').indexOf('\r\n')).toBe(reply.length - 2);
  });

  it('decodes UTF-8 keys', () => {
    const reply = msetResult([resp('-ERR no\r\n')], withFrames([['MSET', 'clé', 'v']]));
    expect(reply.toString('utf8')).toContain('keys not written: clé (ERR no)');
  });
});

describe('reply-reader', () => {
  it('isError: simple and blob errors only', () => {
    expect(isError(resp('-ERR x\r\n'))).toBe(true);
    expect(isError(resp('!3\r\nERR\r\n'))).toBe(true);
    expect(isError(resp('+OK\r\n'))).toBe(false);
    expect(isError(resp('$3\r\n-no\r\n'))).toBe(false);
  });

  it('readInteger: integers, negative ones, and null for anything else', () => {
    expect(readInteger(resp(':0\r\n'))).toBe(0);
    expect(readInteger(resp(':42\r\n'))).toBe(42);
    expect(readInteger(resp(':-7\r\n'))).toBe(-7);
    expect(readInteger(resp('$2\r\n42\r\n'))).toBeNull();
    expect(readInteger(resp('+42\r\n'))).toBeNull();
  });

  it('readInteger: null for a value a JavaScript number cannot hold exactly', () => {
    expect(readInteger(resp(':9007199254740993\r\n'))).toBeNull();
    expect(readInteger(resp(':9007199254740991\r\n'))).toBe(9007199254740991);
  });

  it('readArrayHeader: count and where the first element starts', () => {
    expect(readArrayHeader(resp('*3\r\n:1\r\n'))).toEqual({ count: 3, offset: 4 });
    expect(readArrayHeader(resp('*12\r\n'))).toEqual({ count: 12, offset: 5 });
    expect(readArrayHeader(resp('*-1\r\n'))).toEqual({ count: -1, offset: 5 });
    expect(readArrayHeader(resp('~2\r\n'))).toEqual({ count: 2, offset: 4 });
    expect(readArrayHeader(resp(':3\r\n'))).toBeNull();
    expect(readArrayHeader(resp('*3'))).toBeNull();
  });

  it('arrayElements: each element as its own complete reply, nested arrays whole', () => {
    const elements = arrayElements(resp('*4\r\n$1\r\na\r\n$-1\r\n*2\r\n:1\r\n+x\r\n$4\r\n\r\n\r\n\r\n'));
    expect(elements?.map(text)).toEqual(['$1|a|', '$-1|', '*2|:1|+x|', '$4||||']);
  });

  it('arrayElements: empty for an empty array, null for a null array, a non-array or a cut-off reply', () => {
    expect(arrayElements(resp('*0\r\n'))).toEqual([]);
    expect(arrayElements(resp('*-1\r\n'))).toBeNull();
    expect(arrayElements(resp('+OK\r\n'))).toBeNull();
    expect(arrayElements(resp('*2\r\n$1\r\na\r\n'))).toBeNull();
  });

  it('readString: bulk and simple strings, null for a null bulk and other types', () => {
    expect(readString(resp('$5\r\nhello\r\n'))).toBe('hello');
    expect(readString(resp('$0\r\n\r\n'))).toBe('');
    expect(readString(resp('+OK\r\n'))).toBe('OK');
    expect(readString(resp('$-1\r\n'))).toBeNull();
    expect(readString(resp(':1\r\n'))).toBeNull();
  });

  it('readString: bulk strings are UTF-8 and may hold CR LF', () => {
    expect(readString(Buffer.from('$4\r\né\r\n\r\n', 'utf8'))).toBe('é\r\n');
  });
});

const proxy: ProxyInfo = {
  version: '0.1.0',
  masters: 3,
  clients: 2,
  redirectsMoved: 5,
  redirectsAsk: 1,
  parkedNow: 0,
  parkedTotal: 7,
  retryBudgetExpired: 0,
  longestParkMs: 1200,
  nodes: [{ address: '127.0.0.1:7000', role: 'master', health: 'up', inFlight: 0 }],
};

/** An INFO reply as a master sends it: sections separated by a blank line, CR LF throughout. */
function infoReply(sections: string[][]): Buffer {
  const body = sections.map((lines) => lines.join('\r\n') + '\r\n').join('\r\n');
  return resp(`$${Buffer.byteLength(body)}\r\n${body}\r\n`);
}

/** The text of a merged INFO reply, split into sections by their "# " heading line. */
function sectionsOf(reply: Buffer): Map<string, string[]> {
  const body = readString(reply);
  if (body === null) throw new Error(`not a bulk string: ${text(reply)}`);
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of body.split('\r\n')) {
    if (line.startsWith('# ')) sections.set(line.slice(2), (current = []));
    else if (line !== '') current.push(line);
  }
  return sections;
}

function master(keyspace: string[], extra: string[] = []): Buffer {
  return infoReply([
    ['# Server', 'redis_version:7.0.15', 'redis_mode:cluster', ...extra],
    ['# Clients', 'connected_clients:4'],
    ['# Cluster', 'cluster_enabled:1'],
    ['# Keyspace', ...keyspace],
  ]);
}

describe('mergeInfo', () => {
  it('puts a Proxy section first, with the facts about slotgate', () => {
    const reply = mergeInfo([master([])], proxy);
    expect(readString(reply)?.startsWith('# Proxy\r\n')).toBe(true);
    expect(sectionsOf(reply).get('Proxy')).toEqual([
      'proxy:slotgate',
      'proxy_version:0.1.0',
      `process_id:${process.pid}`,
      'cluster_masters:3',
      'connected_clients:2',
      'redirects_moved:5',
      'redirects_ask:1',
      'parked_requests:0',
      'parked_requests_total:7',
      'retry_budget_expired_total:0',
      'longest_park_ms:1200',
      'info_masters_missing:0',
      'node0:address=127.0.0.1:7000,role=master,health=up,in_flight=0',
    ]);
  });

  it("keeps the first master's other sections, in order", () => {
    const reply = mergeInfo([master([], ['tcp_port:1']), master([], ['tcp_port:2'])], proxy);
    const sections = sectionsOf(reply);
    expect([...sections.keys()]).toEqual(['Proxy', 'Server', 'Clients', 'Cluster', 'Keyspace']);
    expect(sections.get('Server')).toContain('tcp_port:1');
    expect(sections.get('Clients')).toEqual(['connected_clients:4']);
  });

  it('reports cluster_enabled:0', () => {
    const sections = sectionsOf(mergeInfo([master([])], proxy));
    expect(sections.get('Cluster')).toEqual(['cluster_enabled:0']);
  });

  it('sums keys and expires of each database over the masters and keeps the largest avg_ttl', () => {
    const parts = [
      master(['db0:keys=10,expires=1,avg_ttl=500']),
      master(['db0:keys=20,expires=0,avg_ttl=0']),
      master(['db0:keys=5,expires=3,avg_ttl=900']),
    ];
    expect(sectionsOf(mergeInfo(parts, proxy)).get('Keyspace')).toEqual(['db0:keys=35,expires=4,avg_ttl=900']);
  });

  it('counts keys of masters other than the first even when the first has none', () => {
    const parts = [master([]), master(['db0:keys=7,expires=0,avg_ttl=0']), master([])];
    expect(sectionsOf(mergeInfo(parts, proxy)).get('Keyspace')).toEqual(['db0:keys=7,expires=0,avg_ttl=0']);
  });

  it('leaves Keyspace empty when no master has keys', () => {
    const reply = mergeInfo([master([]), master([])], proxy);
    expect(sectionsOf(reply).get('Keyspace')).toEqual([]);
  });

  it('separates sections with one blank line and ends with CR LF', () => {
    const body = readString(mergeInfo([master(['db0:keys=1,expires=0,avg_ttl=0'])], proxy)) ?? '';
    expect(body.endsWith('\r\n')).toBe(true);
    expect(body.endsWith('\r\n\r\n')).toBe(false);
    expect(body).not.toContain('\r\n\r\n\r\n');
    expect(body.match(/\r\n\r\n# /g)?.length).toBe(4);
  });

  it('answers from the masters that could, saying how many could not, and errs only when none could', () => {
    const parts = [master(['db0:keys=2,expires=0,avg_ttl=0']), resp('-ERR slotgate: cannot reach 127.0.0.1:7001\r\n'), master(['db0:keys=3,expires=0,avg_ttl=0'])];
    const sections = sectionsOf(mergeInfo(parts, proxy));
    expect(sections.get('Keyspace')).toEqual(['db0:keys=5,expires=0,avg_ttl=0']);
    expect(sections.get('Proxy')).toContain('info_masters_missing:1');
    const none = mergeInfo([resp('-LOADING Redis is loading\r\n'), resp('-ERR slotgate: cannot reach 127.0.0.1:7001\r\n')], proxy);
    expect(text(none)).toBe('-LOADING Redis is loading|');
  });

  it('handles a single section asked for by name', () => {
    const only = infoReply([['# Keyspace', 'db0:keys=2,expires=0,avg_ttl=0']]);
    const reply = mergeInfo([only, infoReply([['# Keyspace', 'db0:keys=3,expires=1,avg_ttl=10']])], proxy);
    const sections = sectionsOf(reply);
    expect([...sections.keys()]).toEqual(['Proxy', 'Keyspace']);
    expect(sections.get('Keyspace')).toEqual(['db0:keys=5,expires=1,avg_ttl=10']);
  });
});

describe('newestSlowlogEntries', () => {
  /** One SLOWLOG entry as a node sends it: id, unix time, microseconds, arguments, client, name. */
  function entry(id: number, time: number, command: string): string {
    return `*6\r\n:${id}\r\n:${time}\r\n:15000\r\n*1\r\n$${command.length}\r\n${command}\r\n$15\r\n127.0.0.1:50000\r\n$0\r\n\r\n`;
  }
  function part(...entries: string[]): Buffer {
    return resp(`*${entries.length}\r\n${entries.join('')}`);
  }
  const parts = [part(entry(2, 300, 'KEYS'), entry(1, 100, 'SORT')), part(entry(7, 200, 'SUNION')), part()];
  const commands = (reply: Buffer) => arrayElements(reply)!.map((element) => readString(arrayElements(arrayElements(element)![3])![0]));

  it("lists every master's entries newest first, ten by default as Redis does", () => {
    expect(commands(newestSlowlogEntries(parts, withFrames([['SLOWLOG', 'GET']])))).toEqual(['KEYS', 'SUNION', 'SORT']);
  });

  it('keeps at most the count asked for, and all of them for -1', () => {
    expect(commands(newestSlowlogEntries(parts, withFrames([['SLOWLOG', 'GET', '2']])))).toEqual(['KEYS', 'SUNION']);
    expect(commands(newestSlowlogEntries(parts, withFrames([['slowlog', 'get', '-1']])))).toHaveLength(3);
    expect(text(newestSlowlogEntries([part(), part()], withFrames([['SLOWLOG', 'GET']])))).toBe('*0|');
  });

  it('returns the first error', () => {
    const error = resp('-ERR count should be greater than or equal to -1\r\n');
    expect(newestSlowlogEntries([error, error], withFrames([['SLOWLOG', 'GET', '-5']]))).toBe(error);
  });
});
