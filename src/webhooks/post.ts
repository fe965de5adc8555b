import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPrivateAddress } from './addresses';

/** What a receiver answered: its status and the start of its body. */
export interface ReceiverAnswer {
  status: number;
  body: string;
}

/** Thrown when a receiver's name resolves to an address that may not receive webhooks. */
export class PrivateAddressError extends Error {
  override readonly name = 'PrivateAddressError';
}

const ANSWER_CHARS = 1000;

/**
 * POSTs `body` to `url`. The address is checked where the name is resolved, so a name that points
 * into a private network (or is re-pointed there after the subscription was made) is refused
 * unless `allowPrivate`.
 * @throws PrivateAddressError, or the network's error; a receiver's non-2xx answer is returned.
 */
export function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<ReceiverAnswer> {
  const target = new URL(url);
  // An address written out is never looked up: check it here.
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && isIP(literal) !== 0 && isPrivateAddress(literal)) {
    return Promise.reject(new PrivateAddressError(`${literal} is a private address`));
  }
  const client = target.protocol === 'https:' ? https : http;
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = options.allowPrivate ? undefined : addresses.find((entry) => isPrivateAddress(entry.address));
      if (refused) {
        return callback(
          new PrivateAddressError(`${hostname} resolves to the private address ${refused.address}`),
          '',
          0,
        );
      }
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
        lookup,
        timeout: options.timeoutMs,
        signal: options.signal,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < ANSWER_CHARS) text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text.slice(0, ANSWER_CHARS) }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
