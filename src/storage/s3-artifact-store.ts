import { createHash, randomUUID } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type _Object,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { contentTypeFor } from '../domain/file-names';
import type { ArtifactRef } from '../domain/types';
import {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  ArtifactStoreUnavailableError,
  checkExecutionId,
  checkKey,
  keyFor,
} from './artifact-keys';
import type { ArtifactInfo, ArtifactStore, ByteRange } from './artifact-store';

/** Where an S3-compatible store is and how to sign in to it (ARTIFACT_S3_* in src/config.ts). */
export interface S3StoreSettings {
  bucket: string;
  /** Another service than AWS (SeaweedFS, MinIO, R2, …); AWS itself without it. */
  endpoint?: string;
  region: string;
  /** Prepended to every object key, so that several deployments can share one bucket. */
  prefix: string;
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`. */
  forcePathStyle: boolean;
  /** Without them, the SDK's own chain (AWS_* variables, profiles, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Partly written uploads wait here until they are copied in place whole. No execution id starts
 * with a dot, so no execution's files can be here.
 */
const PARTIAL_PREFIX = '.partial/';
/** The object metadata (`x-amz-meta-sha256`) that names each file's bytes, checked on every whole read. */
const SHA256_METADATA = 'sha256';
/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

/**
 * The artifact store in an S3-compatible bucket: `<prefix><executionId>/<key>`, each object with its
 * sha256 in its metadata. A whole read (read, readStream without a range) checks the bytes against
 * it and fails with ArtifactIntegrityError when they differ; a range cannot be checked.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  private readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    settings: Pick<S3StoreSettings, 'bucket' | 'prefix'>,
  ) {
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
  }

  static fromSettings(settings: S3StoreSettings): S3ArtifactStore {
    const client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      // Checksums only where the API demands them: many S3-compatible servers refuse the newer
      // default (a CRC32 trailer on every upload). Integrity is ours to check, by sha256.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return new S3ArtifactStore(client, settings);
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) throw new Error(`the artifact bucket ${this.bucket} does not exist`, { cause: error });
      if (status === 401 || status === 403) {
        throw new Error(`the artifact bucket ${this.bucket} refuses these credentials`, { cause: error });
      }
      throw unavailableOr(error);
    }
  }

  async put(executionId: string, scope: string, name: string, data: Buffer): Promise<ArtifactRef> {
    const key = keyFor(scope, name);
    const sha256 = createHash('sha256').update(data).digest('hex');
    await this.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(executionId, key),
        Body: data,
        ContentLength: data.length,
        ContentType: contentTypeFor(name),
        Metadata: { [SHA256_METADATA]: sha256 },
      }),
    );
    return refFor(name, key, data.length, sha256);
  }

  async putStream(executionId: string, scope: string, name: string, source: Readable): Promise<ArtifactRef> {
    const key = keyFor(scope, name);
    const target = this.objectKey(executionId, key);
    const partial = `${this.prefix}${PARTIAL_PREFIX}${randomUUID()}`;
    const hash = createHash('sha256');
    let size = 0;
    // The bytes go up under a temporary key while they are hashed (a multipart upload when they are
    // many), then are copied in place with their sha256, which is only known at the end.
    const body = new PassThrough();
    const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: partial, Body: body } });
    const uploaded = upload.done();
    try {
      let sourceError: unknown;
      const read = pipeline(
        source,
        new Transform({
          transform(chunk: Buffer | string, _encoding, callback) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            hash.update(bytes);
            size += bytes.length;
            callback(null, bytes);
          },
        }),
        body,
      ).catch((error: unknown) => {
        sourceError = error;
        throw error;
      });
      await Promise.all([read, uploaded]).catch(async (error: unknown) => {
        // Whichever side failed, the other must not go on (or reject unobserved).
        body.destroy();
        await Promise.allSettled([read, upload.abort(), uploaded]);
        // A source that broke is the caller's failure; anything else is the service's.
        throw error === sourceError ? error : unavailableOr(error);
      });
      const sha256 = hash.digest('hex');
      await this.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: copySource(this.bucket, partial),
          MetadataDirective: 'REPLACE',
          ContentType: contentTypeFor(name),
          Metadata: { [SHA256_METADATA]: sha256 },
        }),
      );
      return refFor(name, key, size, sha256);
    } finally {
      await this.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: partial })).catch(() => undefined);
    }
  }

  async read(executionId: string, key: string): Promise<Buffer> {
    const object = await this.get(executionId, key);
    const data = Buffer.from(await object.Body!.transformToByteArray());
    checkSha256(executionId, key, object.Metadata, createHash('sha256').update(data).digest('hex'));
    return data;
  }

  async readStream(executionId: string, key: string, range?: ByteRange): Promise<Readable> {
    const object = await this.get(executionId, key, range);
    const body = object.Body as Readable;
    if (range !== undefined) return body;
    const hash = createHash('sha256');
    // The last chunk is held back until the whole file is checked, so that a reader of a file whose
    // bytes changed never gets all of them (an HTTP download ends short of its length).
    let held: Buffer | null = null;
    const checked = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        const previous = held;
        held = chunk;
        callback(null, previous ?? undefined);
      },
      flush(callback) {
        try {
          checkSha256(executionId, key, object.Metadata, hash.digest('hex'));
          callback(null, held ?? undefined);
        } catch (error) {
          callback(error as Error);
        }
      },
    });
    body.on('error', (error) => checked.destroy(error));
    checked.on('close', () => body.destroy());
    return body.pipe(checked);
  }

  async stat(executionId: string, key: string): Promise<ArtifactInfo | null> {
    const objectKey = this.objectKey(executionId, key);
    try {
      const head = await this.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { key, size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async list(executionId: string, under?: string): Promise<ArtifactInfo[]> {
    checkExecutionId(executionId);
    if (under !== undefined) checkKey(under);
    const base = `${this.prefix}${executionId}/`;
    const found: ArtifactInfo[] = [];
    for await (const object of this.objects(under === undefined ? base : `${base}${under}/`)) {
      found.push({ key: object.Key!.slice(base.length), size: object.Size ?? 0 });
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(executionId: string, key: string): Promise<boolean> {
    // S3 answers a delete the same whether the object was there or not.
    if ((await this.stat(executionId, key)) === null) return false;
    await this.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(executionId, key) }));
    return true;
  }

  async deleteAll(executionId: string): Promise<number> {
    checkExecutionId(executionId);
    const keys: string[] = [];
    for await (const object of this.objects(`${this.prefix}${executionId}/`)) keys.push(object.Key!);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const answer = await this.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = answer.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(
          `could not delete ${failed.length} file(s) of execution ${executionId}: ${failed[0]!.Key}: ${failed[0]!.Message ?? failed[0]!.Code}`,
        );
      }
    }
    return keys.length;
  }

  async executions(): Promise<Array<{ executionId: string; modifiedAt: Date }>> {
    const newest = new Map<string, number>();
    for await (const object of this.objects(this.prefix)) {
      const rest = object.Key!.slice(this.prefix.length);
      const slash = rest.indexOf('/');
      if (slash <= 0 || rest.startsWith(PARTIAL_PREFIX)) continue;
      const executionId = rest.slice(0, slash);
      const modified = object.LastModified?.getTime() ?? 0;
      newest.set(executionId, Math.max(newest.get(executionId) ?? 0, modified));
    }
    return [...newest]
      .map(([executionId, modified]) => ({ executionId, modifiedAt: new Date(modified) }))
      .sort((a, b) => (a.executionId < b.executionId ? -1 : 1));
  }

  async copy(fromExecutionId: string, key: string, toExecutionId: string): Promise<void> {
    const source = this.objectKey(fromExecutionId, key);
    const target = this.objectKey(toExecutionId, key);
    try {
      // The metadata (the sha256 and the content type) goes with the bytes.
      await this.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: copySource(this.bucket, source),
          MetadataDirective: 'COPY',
        }),
      );
    } catch (error) {
      if (isMissing(error)) {
        throw new ArtifactNotFoundError(`execution ${fromExecutionId} has no file ${key}`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * The client's `send`, with a failure to reach the service (no answer at all, or a 5xx) turned into
   * ArtifactStoreUnavailableError; answers such as 404 are left as the service gave them.
   */
  private readonly send = (async (command: never) => {
    try {
      return await this.client.send(command);
    } catch (error) {
      throw unavailableOr(error);
    }
  }) as S3Client['send'];

  /** Every object below `prefix`, page by page. */
  private async *objects(prefix: string): AsyncGenerator<_Object> {
    let token: string | undefined;
    do {
      const page = await this.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  private async get(executionId: string, key: string, range?: ByteRange) {
    const objectKey = this.objectKey(executionId, key);
    try {
      return await this.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Range: range === undefined ? undefined : `bytes=${range.start}-${range.end ?? ''}`,
        }),
      );
    } catch (error) {
      if (isMissing(error)) {
        throw new ArtifactNotFoundError(`execution ${executionId} has no file ${key}`, { cause: error });
      }
      throw error;
    }
  }

  private objectKey(executionId: string, key: string): string {
    checkExecutionId(executionId);
    checkKey(key);
    return `${this.prefix}${executionId}/${key}`;
  }
}

function refFor(name: string, key: string, size: number, sha256: string): ArtifactRef {
  return { name, key, size, sha256, contentType: contentTypeFor(name) };
}

/** `bucket/key` for CopyObject, each segment URL-encoded as the API expects. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function checkSha256(
  executionId: string,
  key: string,
  metadata: Record<string, string> | undefined,
  actual: string,
): void {
  const expected = metadata?.[SHA256_METADATA];
  // Objects written by something else than this store have no sha256 to check against.
  if (expected !== undefined && expected !== actual) {
    throw new ArtifactIntegrityError(
      `file ${key} of execution ${executionId} is not the one stored: its sha256 is ${actual}, not ${expected}`,
    );
  }
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

/**
 * A failure to reach the service as ArtifactStoreUnavailableError: no answer at all (a refused or
 * broken connection, a timeout: anything the SDK throws that is not the service's answer), or a 5xx.
 * The service's other answers, such as 404, are left as they are.
 */
function unavailableOr(error: unknown): unknown {
  const status = statusOf(error);
  if (status !== undefined && status < 500) return error;
  const reason = error instanceof Error ? error.message || error.name : String(error);
  return new ArtifactStoreUnavailableError(`the artifact store cannot be reached: ${reason}`, { cause: error });
}

function isMissing(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404;
}
