import { z } from 'zod';
import { usageError } from './cli-error';

/** Where the gateway listens by default: `PORT` (3000) on loopback, as `npm start` runs it. */
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:3000';

export interface CliSettings {
  /** The gateway's base URL, without a trailing slash. */
  url: string;
  /** The API key sent as `Authorization: Bearer <key>`; none for an open gateway. */
  key: string | undefined;
}

const blankToUndefined = (value: string | undefined) =>
  value === undefined || value.trim() === '' ? undefined : value.trim();

const envSchema = z.object({
  AGENT_EXEC_URL: z.string().optional().transform(blankToUndefined),
  AGENT_EXEC_KEY: z.string().optional().transform(blankToUndefined),
});

/**
 * The client's settings: flags first, then `AGENT_EXEC_URL` / `AGENT_EXEC_KEY` from `env`, then the
 * default URL. The CLI's own small schema, read once by its entry point, like `loadConfig` for the
 * service's processes (whose schema describes a server, not a client).
 * @throws CliError (usage) for a URL that is not http(s).
 */
export function loadCliSettings(flags: { url?: string; key?: string }, env: NodeJS.ProcessEnv): CliSettings {
  const fromEnv = envSchema.parse(env);
  const raw = blankToUndefined(flags.url) ?? fromEnv.AGENT_EXEC_URL ?? DEFAULT_GATEWAY_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`--url: "${raw}" is not a URL (such as ${DEFAULT_GATEWAY_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--url: "${raw}" is not an http or https URL`);
  }
  return {
    url: url.toString().replace(/\/+$/, ''),
    key: blankToUndefined(flags.key) ?? fromEnv.AGENT_EXEC_KEY,
  };
}
