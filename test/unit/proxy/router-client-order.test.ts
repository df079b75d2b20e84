import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { Router } from '../../../src/proxy/router.ts';
import type { RoutedRequest } from '../../../src/proxy/routed-request.ts';
import { encodeCommand } from '../../../src/resp/encode.ts';
import { freePort } from '../../helpers/free-port.ts';
import { testRouter } from '../../helpers/test-router.ts';
import { until } from '../../helpers/until.ts';

let router: Router | null = null;
let server: Server | null = null;

afterEach(async () => {
  router?.close();
  router = null;
  if (server !== null) await new Promise((resolve) => server?.close(resolve));
  server = null;
});

/** A node that answers every SET with +OK and notes the order it ran them in. */
async function startNode(port: number, ran: string[]): Promise<void> {
  server = createServer((socket) => {
    socket.on('data', (data) => {
      for (const match of data.toString('latin1').matchAll(/SET\r\n\$\d+\r\n(\w+)\r\n\$\d+\r\n(\w+)\r\n/g)) {
        ran.push(`SET ${match[1]} ${match[2]}`);
        socket.write('+OK\r\n');
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
}

function routerTo(port: number): Router {
  return testRouter([{ start: 0, end: 16383, master: `127.0.0.1:${port}`, replicas: [] }]);
}

/** A client's SET as the session would route it: parked again while not sent, in doubt once written. */
function set(key: string, value: string, affinity: number, answers: string[]): RoutedRequest {
  const request: RoutedRequest = {
    frame: encodeCommand(['SET', key, value]),
    slot: 0,
    affinity,
    redirects: 0,
    readOnly: false,
    parkedAt: 0,
    replicaRead: false,
    resp3: false,
    replyCount: 1,
    onReply: (reply) => answers.push(`SET ${key} ${value}: ${reply.toString().trim()}`),
    onFailure: (message, written) => (written ? answers.push(`SET ${key} ${value}: in doubt`) : (router as Router).retryLater(request, message)),
    complete: (reply) => answers.push(`SET ${key} ${value}: ${reply.toString().trim()}`),
  };
  return request;
}

it("keeps a client's writes in order when the first waits for its node and the next arrives after it is back", async () => {
  const port = await freePort();
  const ran: string[] = [];
  const answers: string[] = [];
  router = routerTo(port);
  // The node is down: refused, parked, tried again every 100 ms.
  router.dispatch(set('k', 'first', 1, answers));
  // Back before that retry (a restart in place), and the client's next write arrives meanwhile.
  await startNode(port, ran);
  await new Promise((resolve) => setTimeout(resolve, 60));
  router.dispatch(set('k', 'second', 1, answers));
  // Another client is not held up by it.
  router.dispatch(set('other', 'x', 2, answers));
  await until(() => answers.length === 3);
  expect(ran.filter((command) => command.startsWith('SET k'))).toEqual(['SET k first', 'SET k second']);
  expect(answers).toContain('SET k second: +OK');
});
