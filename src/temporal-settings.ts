import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';

/** Where and how gateway and worker reach Temporal: what both kinds of connection take. */
export interface TemporalConnectionSettings {
  address: string;
  /** Off (false or absent), on with the system's roots (true), or with certificates of its own. */
  tls?: TLSConfig | boolean;
  /** Temporal Cloud's API key, sent as a bearer token (TLS is then on unless turned off). */
  apiKey?: string;
  /** gRPC headers for every call (`TEMPORAL_GRPC_META_*`, or a profile's `grpc_meta`). */
  metadata?: Record<string, string>;
}

export interface TemporalSettings {
  connection: TemporalConnectionSettings;
  namespace: string;
  /** The `temporal.toml` profile read, when one was named. */
  profile: string | null;
}

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

/**
 * The connection settings from Temporal's own environment configuration: the profile named by
 * `TEMPORAL_PROFILE` (else `default`) of `TEMPORAL_CONFIG_FILE` (else the user's
 * `temporalio/temporal.toml`, when there is one), overridden by `TEMPORAL_ADDRESS`,
 * `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*` and `TEMPORAL_GRPC_META_*`. Certificates
 * named by path are read now. Throws a list of problems, each naming what to fix.
 */
export function readTemporalSettings(env: NodeJS.ProcessEnv): TemporalSettings {
  // An empty variable counts as unset, as for every other setting.
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') vars[name] = value.trim();
  }
  const file = vars.TEMPORAL_CONFIG_FILE;
  // The library passes over a missing file; one named on purpose should be there.
  if (file !== undefined && !existsSync(file)) {
    throw new TemporalSettingsError([`TEMPORAL_CONFIG_FILE: ${file} does not exist`]);
  }
  let profile: ReturnType<typeof loadClientConfigProfile>;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (error) {
    const where = file ?? 'the temporal.toml file';
    throw new TemporalSettingsError([`TEMPORAL_PROFILE / ${where}: ${messageOf(error)}`]);
  }
  // The library leaves out a client certificate without its key, and the handshake then fails unclearly.
  const hasCert = profile.tls?.clientCert !== undefined;
  const hasKey = profile.tls?.clientKey !== undefined;
  if (hasCert !== hasKey) {
    throw new TemporalSettingsError([
      hasCert
        ? 'TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA): a client certificate needs its key'
        : 'TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA): a client key needs its certificate',
    ]);
  }
  let options: ReturnType<typeof toClientOptions>;
  try {
    options = toClientOptions(profile);
  } catch (error) {
    // A certificate or key named by path that cannot be read.
    throw new TemporalSettingsError([`TEMPORAL_TLS_*: a certificate or key cannot be read: ${messageOf(error)}`]);
  }
  const { connectionOptions } = options;
  const tls = connectionOptions.tls ?? undefined;
  return {
    connection: {
      address: connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS,
      ...(tls !== undefined ? { tls } : {}),
      ...(connectionOptions.apiKey !== undefined ? { apiKey: connectionOptions.apiKey as string } : {}),
      ...(connectionOptions.metadata ? { metadata: connectionOptions.metadata as Record<string, string> } : {}),
    },
    namespace: options.namespace ?? 'default',
    profile: vars.TEMPORAL_PROFILE ?? null,
  };
}

/** Problems with the Temporal settings, one line each. */
export class TemporalSettingsError extends Error {
  override readonly name = 'TemporalSettingsError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
