import type { Client } from '@temporalio/client';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../../src/api/app';
import type { Config } from '../../src/config';
import { ArtifactStore } from '../../src/storage/artifact-store';

/**
 * The gateway in this process on a free loopback port, for tests, benches and the history recorder;
 * its artifact store is `<DATA_DIR>/artifacts`, as in src/api/server.ts.
 */
export async function startGateway(
  client: Client,
  config: Config,
  logLevel = 'silent',
): Promise<{ server: Server; baseUrl: string }> {
  const app = createApp({
    client,
    store: new ArtifactStore(path.join(config.dataDir, 'artifacts')),
    config,
    logger: pino({ level: logLevel }),
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
