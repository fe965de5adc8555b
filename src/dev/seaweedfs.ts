import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { S3ArtifactStore } from '../storage/s3-artifact-store';
import { freePort, waitForPort } from './temporal-dev-server';

/** Where scripts/setup.sh puts SeaweedFS, the S3-compatible server of the shared artifact store's tests. */
export const WEED_BIN = path.resolve(__dirname, '../../.tools/bin/weed');

export interface SeaweedOptions {
  /** Its data; a second start on the same folder finds the same buckets and objects. */
  dir: string;
  /** Created at start when missing. */
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The S3 port; a free one without it. */
  s3Port?: number;
  startTimeoutMs?: number;
}

export interface Seaweed {
  /** The S3 endpoint, `http://127.0.0.1:<port>`. */
  endpoint: string;
  s3Port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts SeaweedFS in one process (`weed mini`: master, volume, filer and S3 gateway) on loopback,
 * with one S3 identity and the bucket, and resolves once the bucket answers over S3. Its output goes
 * to `<dir>/weed.log`. Nothing is reported anywhere: telemetry is off.
 */
export async function startSeaweed(options: SeaweedOptions): Promise<Seaweed> {
  if (!existsSync(WEED_BIN)) throw new Error(`SeaweedFS is not built (${WEED_BIN}): run scripts/setup.sh`);
  mkdirSync(options.dir, { recursive: true });
  const s3Port = options.s3Port ?? (await freePort());
  // Every service of `weed mini` listens on a port of its own, gRPC ones at +10000 unless given.
  const [master, volume, filer] = [await freePort(), await freePort(), await freePort()];
  const [masterGrpc, volumeGrpc, filerGrpc, s3Grpc] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const log = createWriteStream(path.join(options.dir, 'weed.log'), { flags: 'a' });
  const child = spawn(
    WEED_BIN,
    [
      'mini',
      `-dir=${options.dir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-bucket=${options.bucket}`,
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      '-master.telemetry=false',
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      `-filer.localSocket=${path.join(options.dir, 'filer.sock')}`,
      `-s3.port=${s3Port}`,
      `-s3.port.grpc=${s3Grpc}`,
      `-s3.localSocket=${path.join(options.dir, 's3.sock')}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      '-webdav=false',
      '-admin.ui=false',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The one identity S3 requests are signed with; it may do everything.
      env: { ...process.env, AWS_ACCESS_KEY_ID: options.accessKeyId, AWS_SECRET_ACCESS_KEY: options.secretAccessKey },
    },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
  };
  const endpoint = `http://127.0.0.1:${s3Port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const started = await Promise.race([
    (async () => {
      if (!(await waitForPort('127.0.0.1', s3Port, options.startTimeoutMs ?? 60_000))) return false;
      // The S3 port opens before the filer has made the bucket.
      while (Date.now() < deadline) {
        if (await bucketAnswers(endpoint, options)) return true;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return false;
    })(),
    exited.then(() => false),
  ]);
  if (!started) {
    await stop();
    throw new Error(`SeaweedFS did not start its S3 gateway on ${s3Port}; see ${path.join(options.dir, 'weed.log')}`);
  }
  return { endpoint, s3Port, pid: child.pid!, stop };
}

/** True once the bucket answers a signed HeadBucket. */
async function bucketAnswers(endpoint: string, options: SeaweedOptions): Promise<boolean> {
  const store = S3ArtifactStore.fromSettings({
    bucket: options.bucket,
    endpoint,
    region: 'us-east-1',
    prefix: '',
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
  });
  try {
    await store.check();
    return true;
  } catch {
    return false;
  } finally {
    store.close();
  }
}
