import { describe, expect, it } from 'vitest';
import { ReplyScanner } from '../../../src/resp/reply-scanner.ts';
import { RequestParser } from '../../../src/resp/request-parser.ts';
import { respLikeGarbage as garbage, seededRandom as random } from '../../helpers/random-bytes.ts';

describe('parsers on random input', () => {
  it('the request parser never throws: it hands out requests or reports one protocol error, then nothing', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const next = random(seed);
      let errors = 0;
      let afterError = 0;
      const parser = new RequestParser(
        {
          onRequest(view) {
            if (errors > 0) afterError++;
            // Touch every argument the way routing does.
            for (let i = 0; i < view.argc; i++) expect(view.ends[i]).toBeGreaterThanOrEqual(view.starts[i]);
          },
          onProtocolError() {
            errors++;
          },
        },
        { protoMaxBulkLen: 4096, maxMultibulkLength: 64 },
      );
      const input = garbage(next, 1 + Math.floor(next() * 400));
      for (let i = 0; i < input.length; ) {
        const size = 1 + Math.floor(next() * 40);
        expect(() => parser.feed(input.subarray(i, i + size)), `seed ${seed}`).not.toThrow();
        i += size;
      }
      expect(errors, `seed ${seed}`).toBeLessThanOrEqual(1);
      expect(afterError, `seed ${seed}`).toBe(0);
    }
  });

  it('the reply scanner never throws and never reads past what it is given', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const next = random(seed);
      const scanner = new ReplyScanner();
      const input = garbage(next, 1 + Math.floor(next() * 400));
      let pos = 0;
      while (pos < input.length) {
        const end = scanner.scan(input, pos, input.length);
        if (end < 0) break;
        expect(end, `seed ${seed}`).toBeGreaterThan(pos);
        expect(end, `seed ${seed}`).toBeLessThanOrEqual(input.length);
        pos = end;
      }
    }
  });
});
