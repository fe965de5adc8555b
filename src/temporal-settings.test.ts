import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from './config';

/** Temporal's environment configuration as loadConfig reads it: variables, temporal.toml profiles, files. */
describe('the connection to Temporal', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    const at = path.join(dir, name);
    mkdirSync(path.dirname(at), { recursive: true });
    writeFileSync(at, content);
    return at;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-settings-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('by default the local dev server, in plain text', () => {
    expect(loadConfig({}).temporal).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      connection: { address: '127.0.0.1:7233' },
      profile: null,
    });
    expect(loadConfig({}).temporal.connection.tls).toBeUndefined();
  });

  test('an API key turns TLS on, unless TEMPORAL_TLS turns it off; blank variables count as unset', () => {
    const cloud = loadConfig({
      TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'analytics.a1b2c',
      TEMPORAL_API_KEY: 'secret-key',
    }).temporal;
    expect(cloud).toMatchObject({ address: 'eu-west-1.aws.api.temporal.io:7233', namespace: 'analytics.a1b2c' });
    expect(cloud.connection).toEqual({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      apiKey: 'secret-key',
      tls: true,
    });
    expect(loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).temporal.connection.tls).toBe(false);
    expect(loadConfig({ TEMPORAL_API_KEY: ' ', TEMPORAL_ADDRESS: '' }).temporal.connection).toEqual({
      address: '127.0.0.1:7233',
    });
  });

  test('a profile of temporal.toml gives mTLS with certificates read from their paths; variables override it', () => {
    const ca = file('certs/ca.pem', 'CA');
    const cert = file('certs/client.pem', 'CERT');
    const key = file('certs/client.key', 'KEY');
    const toml = file(
      'temporal.toml',
      [
        '[profile.default]',
        'address = "localhost:7233"',
        '',
        '[profile.prod]',
        'address = "temporal.internal:7233"',
        'namespace = "analytics"',
        '[profile.prod.tls]',
        `server_ca_cert_path = "${ca}"`,
        `client_cert_path = "${cert}"`,
        `client_key_path = "${key}"`,
        'server_name = "temporal.internal"',
        '[profile.prod.grpc_meta]',
        'team = "data"',
      ].join('\n'),
    );
    const prod = loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' }).temporal;
    expect(prod).toMatchObject({ address: 'temporal.internal:7233', namespace: 'analytics', profile: 'prod' });
    expect(prod.connection.metadata).toEqual({ team: 'data' });
    expect(prod.connection.tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from('CA'),
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });
    const overridden = loadConfig({
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'staging',
      TEMPORAL_GRPC_META_TEAM: 'ops',
    }).temporal;
    expect(overridden.namespace).toBe('staging');
    expect(overridden.connection.metadata).toEqual({ team: 'ops' });
    expect(loadConfig({ TEMPORAL_CONFIG_FILE: toml }).temporal.address).toBe('localhost:7233');
  });

  test('the user’s own temporalio/temporal.toml is read when no file is named', () => {
    file('config/temporalio/temporal.toml', '[profile.default]\naddress = "from-home:7233"\n');
    expect(loadConfig({ XDG_CONFIG_HOME: path.join(dir, 'config') }).temporal.address).toBe('from-home:7233');
  });

  test.each([
    [{ TEMPORAL_CONFIG_FILE: '/nowhere/temporal.toml' }, 'TEMPORAL_CONFIG_FILE: /nowhere/temporal.toml does not exist'],
    [{ TEMPORAL_PROFILE: 'missing' }, "Profile 'missing' not found"],
    [{ TEMPORAL_TLS_CLIENT_CERT_PATH: '/nowhere/client.pem' }, 'a client certificate needs its key'],
    [
      { TEMPORAL_TLS_CLIENT_CERT_PATH: '/nowhere/client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/nowhere/client.key' },
      'TEMPORAL_TLS_*: a certificate or key cannot be read',
    ],
    [{ TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY' }, 'a client key needs its certificate'],
  ])('%j is refused with a message that names what to fix', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('a profile file that is not TOML is refused', () => {
    const toml = file('temporal.toml', '[profile.default\naddress = ');
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: toml })).toThrow(/TEMPORAL_PROFILE \/ .*temporal\.toml: /);
  });
});
