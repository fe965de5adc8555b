import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../src/dev/temporal-dev-server';
import { startSeaweed, type Seaweed } from '../../src/dev/seaweedfs';
import type { ExecutionSnapshot } from '../../src/domain/types';
import { ArtifactIntegrityError, ArtifactStoreUnavailableError } from '../../src/storage/artifact-store';
import { S3ArtifactStore, type S3StoreSettings } from '../../src/storage/s3-artifact-store';
import { describeArtifactStoreContract } from '../support/artifact-store-contract';
import { SALES_CSV, SALES_PLOT_CODE } from '../support/data';
import { base64, useHarness } from '../support/harness';

const BUCKET = 'artifacts';
const CREDENTIALS = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' };
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let seaweedDir: string;
let seaweed: Seaweed;

/** One SeaweedFS for the file: each test below works under a prefix of its own in the same bucket. */
beforeAll(async () => {
  seaweedDir = mkdtempSync(path.join(os.tmpdir(), 'seaweed-'));
  seaweed = await startSeaweed({ dir: seaweedDir, bucket: BUCKET, ...CREDENTIALS });
}, 120_000);
afterAll(async () => {
  await seaweed?.stop();
  rmSync(seaweedDir, { recursive: true, force: true });
});

const settings = (overrides: Partial<S3StoreSettings> = {}): S3StoreSettings => ({
  bucket: BUCKET,
  endpoint: seaweed.endpoint,
  region: 'us-east-1',
  prefix: '',
  forcePathStyle: true,
  credentials: CREDENTIALS,
  ...overrides,
});
const rawClient = () =>
  new S3Client({ region: 'us-east-1', endpoint: seaweed.endpoint, forcePathStyle: true, credentials: CREDENTIALS });

/** Every key in the bucket below `prefix`, as S3 lists them. */
async function keysBelow(prefix: string): Promise<string[]> {
  const client = rawClient();
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (page.Contents ?? []).map((object) => object.Key!).sort();
  } finally {
    client.destroy();
  }
}

let testNumber = 0;
let store: S3ArtifactStore;
let prefix: string;

describe('the S3 artifact store on SeaweedFS', () => {
  beforeEach(() => {
    prefix = `contract-${++testNumber}/`;
    store = S3ArtifactStore.fromSettings(settings({ prefix }));
  });
  afterEach(() => store.close());

  describe('the artifact store contract', () => {
    describeArtifactStoreContract(() => store);
  });

  test('objects are kept at <prefix><executionId>/<key>, with their sha256, and no upload is left half-way', async () => {
    const data = Buffer.from('region,amount\nnorth,10\n');
    await store.put('exec-1', 'inputs', 'sales.csv', data);
    await store.putStream('exec-1', 'steps/s/1', 'out.txt', Readable.from([Buffer.from('out')]));

    expect(await keysBelow(prefix)).toEqual([`${prefix}exec-1/inputs/sales.csv`, `${prefix}exec-1/steps/s/1/out.txt`]);
    const client = rawClient();
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}exec-1/inputs/sales.csv` }));
    client.destroy();
    expect(object.Metadata).toEqual({ sha256: sha256(data) });
    expect(object.ContentType).toBe('text/csv');
  });

  test('a large stream goes up in parts, and comes back byte for byte', async () => {
    // Above the 5 MiB part size, so the upload is multipart.
    const chunks = Array.from({ length: 12 }, (_, i) => Buffer.alloc(1024 * 1024, i));
    const whole = Buffer.concat(chunks);

    const ref = await store.putStream('exec-big', 'inputs', 'big.bin', Readable.from(chunks));

    expect(ref).toMatchObject({ size: whole.length, sha256: sha256(whole) });
    expect(sha256(await buffer(await store.readStream('exec-big', ref.key)))).toBe(sha256(whole));
    expect(await keysBelow(prefix)).toEqual([`${prefix}exec-big/inputs/big.bin`]);
  });

  test('bytes changed behind the store are refused on a whole read', async () => {
    await store.put('exec-1', 'inputs', 'a.csv', Buffer.from('n\n1\n2\n'));
    // Someone rewrites the object directly, keeping its metadata.
    const client = rawClient();
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${prefix}exec-1/inputs/a.csv`,
        Body: Buffer.from('n\n1\n9\n'),
        Metadata: { sha256: sha256(Buffer.from('n\n1\n2\n')) },
      }),
    );
    client.destroy();

    await expect(store.read('exec-1', 'inputs/a.csv')).rejects.toThrow(ArtifactIntegrityError);
    await expect(buffer(await store.readStream('exec-1', 'inputs/a.csv'))).rejects.toThrow(ArtifactIntegrityError);
    // A range cannot be checked against the whole file's sha256; it is served as stored.
    expect((await buffer(await store.readStream('exec-1', 'inputs/a.csv', { start: 4, end: 4 }))).toString()).toBe('9');
  });

  test('two prefixes in one bucket do not see each other', async () => {
    const other = S3ArtifactStore.fromSettings(settings({ prefix: `${prefix}other/` }));
    try {
      await store.put('exec-1', 'inputs', 'mine.csv', Buffer.from('mine'));
      await other.put('exec-1', 'inputs', 'theirs.csv', Buffer.from('theirs'));

      expect(await other.list('exec-1')).toEqual([{ key: 'inputs/theirs.csv', size: 6 }]);
      expect((await other.executions()).map((entry) => entry.executionId)).toEqual(['exec-1']);
      // `other/` is not an execution of the outer prefix, and `.partial` never is.
      expect(await store.list('exec-1')).toEqual([{ key: 'inputs/mine.csv', size: 4 }]);
    } finally {
      other.close();
    }
  });

  test('check() says what is wrong: no such bucket, refused credentials, no service', async () => {
    const missing = S3ArtifactStore.fromSettings(settings({ bucket: 'no-such-bucket' }));
    const refused = S3ArtifactStore.fromSettings(
      settings({ credentials: { accessKeyId: 'test-access-key', secretAccessKey: 'wrong' } }),
    );
    const closedPort = await freePort();
    const away = S3ArtifactStore.fromSettings(settings({ endpoint: `http://127.0.0.1:${closedPort}` }));
    try {
      await expect(missing.check()).rejects.toThrow('the artifact bucket no-such-bucket does not exist');
      await expect(refused.check()).rejects.toThrow('the artifact bucket artifacts refuses these credentials');
      await expect(away.check()).rejects.toThrow(ArtifactStoreUnavailableError);
      await expect(away.read('exec-1', 'inputs/a.csv')).rejects.toThrow(ArtifactStoreUnavailableError);
      await expect(away.put('exec-1', 'inputs', 'a.csv', Buffer.from('a'))).rejects.toThrow(
        ArtifactStoreUnavailableError,
      );
      await expect(away.putStream('exec-1', 'inputs', 'a.csv', Readable.from([Buffer.from('a')]))).rejects.toThrow(
        ArtifactStoreUnavailableError,
      );
    } finally {
      for (const each of [missing, refused, away]) each.close();
    }
  });
});

/**
 * The service with its files in the bucket: the worker runs in a process of its own with another
 * DATA_DIR than the gateway's, as on another host, so every file the gateway serves came through S3.
 */
describe('executions whose files are in S3', () => {
  const s3Env = () => ({
    ARTIFACT_STORE: 's3',
    ARTIFACT_S3_BUCKET: BUCKET,
    ARTIFACT_S3_ENDPOINT: seaweed.endpoint,
    ARTIFACT_S3_PREFIX: 'service',
    ARTIFACT_S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    ARTIFACT_S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  });
  const harness = useHarness({ model: false, worker: false, env: s3Env });
  let workerDataDir: string;

  beforeAll(async () => {
    workerDataDir = mkdtempSync(path.join(os.tmpdir(), 'worker-elsewhere-'));
    await harness.spawnWorker({ DATA_DIR: workerDataDir });
  });
  afterAll(() => rmSync(workerDataDir, { recursive: true, force: true }));

  test('an upload and a plot go through the bucket; the gateway serves them; neither host keeps a copy', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: SALES_PLOT_CODE,
      files: [{ name: 'sales.csv', content: base64(SALES_CSV) }],
    });
    expect(started.status).toBe(202);
    const id = started.body.id as string;

    const snapshot: ExecutionSnapshot = await harness.waitForEnd(id);

    expect(snapshot.status).toBe('succeeded');
    const attempt = snapshot.steps[0]!.attempts.at(-1)!;
    expect(attempt.stdout).toContain('fastest growth: North 110%');
    const plot = attempt.files.find((file) => file.name === 'revenue.png');
    expect(plot).toBeDefined();
    const download = await fetch(`${harness.baseUrl}/api/executions/${id}/artifacts/${plot!.key}`);
    expect(download.status).toBe(200);
    const png = Buffer.from(await download.arrayBuffer());
    expect(sha256(png)).toBe(plot!.sha256);
    expect(png.subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const upload = await fetch(`${harness.baseUrl}/api/executions/${id}/artifacts/inputs/sales.csv`);
    expect(await upload.text()).toBe(SALES_CSV);

    const keys = await keysBelow(`service/${id}/`);
    expect(keys).toEqual(expect.arrayContaining([`service/${id}/inputs/sales.csv`, `service/${id}/${plot!.key}`]));
    expect(existsSync(path.join(harness.dataDir, 'artifacts'))).toBe(false);
    expect(existsSync(path.join(workerDataDir, 'artifacts'))).toBe(false);
  });

  test('while the store is down, a download answers 503 with the error shape; after, it is served again', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "print(open('in.txt').read())",
      files: [{ name: 'in.txt', content: base64('kept across a restart') }],
    });
    const id = started.body.id as string;
    expect((await harness.waitForEnd(id)).status).toBe('succeeded');

    await seaweed.stop();
    try {
      const during = await harness.request('GET', `/api/executions/${id}/artifacts/inputs/in.txt`);
      expect(during.status).toBe(503);
      expect(during.body).toEqual({
        error: { code: 'ARTIFACT_STORE_UNAVAILABLE', message: 'The file store cannot be reached; try again shortly.' },
      });
    } finally {
      // The same folder and port: the same bucket and objects.
      seaweed = await startSeaweed({ dir: seaweedDir, bucket: BUCKET, ...CREDENTIALS, s3Port: seaweed.s3Port });
    }

    const after = await harness.request('GET', `/api/executions/${id}/artifacts/inputs/in.txt`);
    expect(after.status).toBe(200);
    expect(after.text).toBe('kept across a restart');
  });

  test('a download of a file whose bytes changed in the bucket ends short of its length', async () => {
    const original = Buffer.from('x,y\n'.repeat(50_000));
    const started = await harness.request('POST', '/api/executions', {
      code: "print(len(open('in.csv').read()))",
      files: [{ name: 'in.csv', content: original.toString('base64') }],
    });
    const id = started.body.id as string;
    expect((await harness.waitForEnd(id)).status).toBe('succeeded');
    const tampered = Buffer.from(original);
    tampered[tampered.length - 2] = 0x7a;
    const client = rawClient();
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `service/${id}/inputs/in.csv`,
        Body: tampered,
        Metadata: { sha256: sha256(original) },
      }),
    );
    client.destroy();

    const download = await fetch(`${harness.baseUrl}/api/executions/${id}/artifacts/inputs/in.csv`);

    expect(download.status).toBe(200);
    expect(download.headers.get('content-length')).toBe(String(original.length));
    await expect(download.arrayBuffer()).rejects.toThrow();
  });

  test('deleting an execution removes its objects from the bucket', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "open('out.txt', 'w').write('x')",
      files: [{ name: 'in.csv', content: base64('a\n1\n') }],
    });
    const id = started.body.id as string;
    expect((await harness.waitForEnd(id)).status).toBe('succeeded');
    expect((await keysBelow(`service/${id}/`)).length).toBeGreaterThanOrEqual(2);

    const deleted = await harness.request('DELETE', `/api/executions/${id}`);

    expect([200, 202]).toContain(deleted.status);
    expect(deleted.body.filesRemoved).toBeGreaterThanOrEqual(2);
    expect(await keysBelow(`service/${id}/`)).toEqual([]);
  });
});
