import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_RETENTION_DAYS, SCHEMA_DIR, serverEnvironment } from '../../src/dev/temporal-cluster';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/messages';

/**
 * No Docker engine runs here, so docker-compose.yml cannot be started in the tests. What can be
 * checked is that it describes the cluster `npm run cluster` starts (and the cluster tests use):
 * the same server version, server config, schemas, namespace retention and search attributes.
 */
const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Service {
  image?: string;
  environment?: Record<string, string | number | null>;
  command?: string[] | string;
  volumes?: string[];
}
const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services;
const serverVersion = /^TEMPORAL_SERVER_VERSION="v([^"]+)"$/m.exec(read('scripts/setup.sh'))?.[1];
const template = read('deploy/temporal/cluster.yaml');
/** Every setting the server config template reads from the environment. */
const templateSettings = new Set([...template.matchAll(/env "([A-Z0-9_]+)"/g)].map((match) => match[1]));
const script = (service: Service) => (Array.isArray(service.command) ? service.command.join('\n') : service.command);

describe('docker-compose.yml and the cluster of `npm run cluster`', () => {
  test('the same Temporal server version, built by setup and pulled by compose', () => {
    expect(serverVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(services.temporal.image).toBe(`temporalio/server:${serverVersion}`);
    for (const name of ['temporal-schema', 'temporal-admin-tools']) {
      expect(services[name].image).toMatch(
        new RegExp(`^temporalio/admin-tools:${serverVersion!.replace(/\./g, '\\.')}-`),
      );
    }
  });

  test('the server runs the repository’s config and dynamic config', () => {
    expect(services.temporal.volumes).toEqual(
      expect.arrayContaining([
        './deploy/temporal/cluster.yaml:/etc/temporal/config/cluster.yaml:ro',
        expect.stringMatching(/^\.\/deploy\/temporal\/dynamicconfig\.yaml:(.+):ro$/),
      ]),
    );
    const dynamic = services.temporal.volumes!.find((volume) => volume.includes('dynamicconfig.yaml'))!.split(':')[1];
    expect(services.temporal.environment?.DYNAMIC_CONFIG_FILE).toBe(dynamic);
    expect(script(services.temporal)).toContain('--root /etc/temporal --config config --env cluster start');
  });

  test('compose and the cluster script give the server only settings its config reads', () => {
    expect(templateSettings.size).toBeGreaterThan(10);
    const fromCompose = Object.keys(services.temporal.environment ?? {});
    const certs = { ca: 'ca', serverCert: 's', serverKey: 'k', clientCert: 'c', clientKey: 'ck' };
    const fromScript = Object.keys(serverEnvironment(7233, 5432, certs)).filter((name) => name !== 'PATH');
    for (const name of [...fromCompose, ...fromScript])
      expect({ name, read: templateSettings.has(name) }).toEqual({ name, read: true });
    // Both say where PostgreSQL is and who to connect as.
    for (const name of ['DB_HOST', 'DB_PORT', 'DB_USER', 'DYNAMIC_CONFIG_FILE']) {
      expect(fromCompose).toContain(name);
      expect(fromScript).toContain(name);
    }
  });

  test('the same schemas, brought up to date with the same SQL tool', () => {
    const schema = script(services['temporal-schema']) ?? '';
    expect(schema).toContain('schema=/etc/temporal/schema/postgresql/v12');
    expect(SCHEMA_DIR.endsWith(path.join('postgresql', 'v12'))).toBe(true);
    expect(schema).toContain('for pair in temporal:temporal temporal_visibility:visibility');
    expect(schema).toContain('setup-schema -v 0.0');
    expect(schema).toContain('update-schema -d "$$schema/$$dir/versioned"');
    expect(services['temporal-schema'].environment?.SQL_PLUGIN).toBe('postgres12');
    expect(template.match(/pluginName: postgres12/g)).toHaveLength(2);
  });

  test('the same namespace retention and search attributes', () => {
    const admin = script(services['temporal-admin-tools']) ?? '';
    expect(admin).toContain(`--retention ${DEFAULT_RETENTION_DAYS * 24}h`);
    const listed = /for name in ([A-Za-z ]+); do/.exec(admin)?.[1].trim().split(/\s+/);
    expect(listed).toEqual(Object.keys(SEARCH_ATTRIBUTES));
    const types = new Set(Object.values(SEARCH_ATTRIBUTES));
    expect([...types]).toEqual(['Keyword']);
    expect(admin).toContain('--type Keyword');
  });
});
