import { RequestView } from '../../src/resp/request-view.ts';

/** A view over `args` laid end to end in one buffer, as the request parser leaves one (strings as latin1). */
export function requestViewOf(args: readonly (string | Buffer)[]): RequestView {
  const view = new RequestView();
  const parts = args.map((arg) => (typeof arg === 'string' ? Buffer.from(arg, 'latin1') : arg));
  view.buffer = Buffer.concat(parts);
  view.reserve(parts.length);
  let at = 0;
  parts.forEach((part, i) => {
    view.starts[i] = at;
    at += part.length;
    view.ends[i] = at;
  });
  view.argc = parts.length;
  return view;
}
