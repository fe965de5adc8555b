import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a delivery's timestamp may be from now, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The hex HMAC-SHA256 of `"<t>.<body>"` under `secret`: what `X-Signature: t=<t>,v1=<hex>` carries. */
export function signDelivery(secret: string, timestamp: number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/**
 * Checks an `X-Signature` header against the raw body and the secrets valid now: the signature, or
 * why it is refused. Comparisons are constant-time.
 */
export function verifyDelivery(
  header: string | undefined,
  body: Buffer,
  secrets: readonly string[],
  nowSeconds: number,
): { ok: true; signature: string } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: 'the X-Signature header is missing' };
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(timestamp) || !/^[0-9a-f]{64}$/.test(given)) {
    return { ok: false, reason: 'X-Signature must be "t=<unix seconds>,v1=<hex HMAC-SHA256>"' };
  }
  if (Math.abs(nowSeconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, reason: `the signature's timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s from now` };
  }
  const givenBytes = Buffer.from(given, 'hex');
  const matches = secrets.some((secret) =>
    timingSafeEqual(Buffer.from(signDelivery(secret, timestamp, body), 'hex'), givenBytes),
  );
  return matches ? { ok: true, signature: given } : { ok: false, reason: 'the signature does not match' };
}
