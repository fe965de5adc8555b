import { ConfigError, loadConfig } from './config';

describe('configuration', () => {
  test('embedded defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'executions' });
    expect(config.temporal.uiUrl).toBe('http://localhost:8233');
    expect(config.sandbox.kind).toBe('local');
    expect(config.llm.configured).toBe(false);
    expect(config.apiKeys).toEqual([]);
  });

  test('artifacts: a local folder by default, or an S3-compatible bucket with its settings checked', () => {
    expect(loadConfig({ DATA_DIR: '/srv/data' }).artifacts).toEqual({ kind: 'local', dir: '/srv/data/artifacts' });
    expect(
      loadConfig({
        ARTIFACT_STORE: 's3',
        ARTIFACT_S3_BUCKET: 'team-artifacts',
        ARTIFACT_S3_ENDPOINT: 'http://127.0.0.1:8333',
        ARTIFACT_S3_PREFIX: '/prod/executions/',
        ARTIFACT_S3_ACCESS_KEY_ID: 'id',
        ARTIFACT_S3_SECRET_ACCESS_KEY: 'secret',
      }).artifacts,
    ).toEqual({
      kind: 's3',
      s3: {
        bucket: 'team-artifacts',
        endpoint: 'http://127.0.0.1:8333',
        region: 'us-east-1',
        prefix: 'prod/executions/',
        forcePathStyle: true,
        credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      },
    });
    // AWS itself: virtual-host buckets and the SDK's own credential chain.
    expect(
      loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'b', ARTIFACT_S3_REGION: 'eu-west-1' }).artifacts,
    ).toEqual({
      kind: 's3',
      s3: {
        bucket: 'b',
        endpoint: undefined,
        region: 'eu-west-1',
        prefix: '',
        forcePathStyle: false,
        credentials: undefined,
      },
    });
    expect(() =>
      loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_ACCESS_KEY_ID: 'id', ARTIFACT_S3_PREFIX: 'a//b' }),
    ).toThrow(
      new ConfigError(
        'Invalid configuration:\n  ARTIFACT_S3_BUCKET: required when ARTIFACT_STORE=s3\n' +
          '  ARTIFACT_S3_ACCESS_KEY_ID and ARTIFACT_S3_SECRET_ACCESS_KEY: give both or neither\n' +
          '  ARTIFACT_S3_PREFIX: plain folder names separated by single slashes',
      ),
    );
    expect(() => loadConfig({ ARTIFACT_STORE: 'gcs' })).toThrow(/ARTIFACT_STORE/);
    expect(() =>
      loadConfig({ ARTIFACT_STORE: 's3', ARTIFACT_S3_BUCKET: 'b', ARTIFACT_S3_ENDPOINT: 'not a url' }),
    ).toThrow(/ARTIFACT_S3_ENDPOINT/);
  });

  test('the warm pool: min and max, the fixed older form, and a max below the min refused', () => {
    expect(loadConfig({}).sandbox.pool).toEqual({ min: 1, max: 4 });
    expect(loadConfig({ SANDBOX_POOL_MIN: '0', SANDBOX_POOL_MAX: '8' }).sandbox.pool).toEqual({ min: 0, max: 8 });
    expect(loadConfig({ SANDBOX_POOL_SIZE: '2' }).sandbox.pool).toEqual({ min: 2, max: 2 });
    expect(loadConfig({ SANDBOX_POOL_SIZE: '0' }).sandbox.pool).toEqual({ min: 0, max: 0 });
    expect(loadConfig({ SANDBOX_POOL_MIN: '6' }).sandbox.pool).toEqual({ min: 6, max: 6 });
    expect(loadConfig({ SANDBOX_POOL_MAX: '0' }).sandbox.pool).toEqual({ min: 0, max: 0 });
    expect(() => loadConfig({ SANDBOX_POOL_MIN: '3', SANDBOX_POOL_MAX: '2' })).toThrow(
      /SANDBOX_POOL_MAX: 2 is below SANDBOX_POOL_MIN \(3\)/,
    );
  });

  test('a model is configured by a key or a base URL; blank values count as unset', () => {
    expect(loadConfig({ OPENAI_API_KEY: 'k' }).llm.configured).toBe(true);
    expect(loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' }).llm.configured).toBe(true);
    expect(loadConfig({ OPENAI_API_KEY: '  ' }).llm.configured).toBe(false);
    expect(loadConfig({ API_KEYS: 'a, b,,' }).apiKeys).toEqual(['a', 'b']);
  });

  test('every problem is reported at once', () => {
    expect(() => loadConfig({ PORT: 'abc', SANDBOX: 'docker' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'abc', SANDBOX: 'docker' });
    } catch (error) {
      expect((error as Error).message).toContain('PORT');
      expect((error as Error).message).toContain('SANDBOX');
    }
  });

  test('E2B needs a key, and a key makes it available next to the default', () => {
    expect(() => loadConfig({ SANDBOX: 'e2b' })).toThrow('E2B_API_KEY');
    expect(loadConfig({ SANDBOX: 'e2b', E2B_API_KEY: 'k' }).sandbox.available).toEqual(['e2b']);
    expect(loadConfig({ E2B_API_KEY: 'k' }).sandbox.available).toEqual(['local', 'e2b']);
    expect(loadConfig({}).sandbox.available).toEqual(['local']);
  });

  test('model prices can be set as JSON, and bad JSON is named', () => {
    const config = loadConfig({ MODEL_PRICES: '{"my-model": {"prompt": 1, "completion": 2}}' });
    expect(config.prices.models['my-model']).toEqual({ prompt: 1, completion: 2 });
    // The built-in prices stay beside the ones set.
    expect(config.prices.models['gpt-4o-mini']).toEqual({ prompt: 0.15, completion: 0.6 });
    expect(() => loadConfig({ MODEL_PRICES: '{' })).toThrow('MODEL_PRICES');
  });
});
