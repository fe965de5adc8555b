import { existsSync } from 'node:fs';
import path from 'node:path';
import express from 'express';

/** Where `npm run build:console` (run by setup) puts the console's files. */
export const CONSOLE_DIR = path.resolve(__dirname, '../../dist/console');

/**
 * The console's own pages may load only what the gateway serves: no CDN, no fonts or scripts from
 * elsewhere. Plots are files of the gateway (or data URLs), and event streams are same-origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that are the gateway's own, never a page of the console. */
const NOT_PAGES = /^\/(api|healthz|readyz|metrics)(\/|$)/;

/**
 * Serves the web console at `/`: its built files, and its page for every other GET that is not an
 * API route (the console routes in the browser). Without a build, `/` says how to make one.
 */
export function consoleRoutes(dir: string = CONSOLE_DIR): express.Router {
  const router = express.Router();
  const index = path.join(dir, 'index.html');
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  router.get(/.*/, (req, res, next) => {
    if (NOT_PAGES.test(req.path)) return next();
    if (path.extname(req.path) !== '') {
      return express.static(dir, { index: false, fallthrough: true })(req, res, next);
    }
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    res.setHeader('cache-control', 'no-cache');
    if (!existsSync(index)) {
      res
        .status(503)
        .type('text/plain')
        .send('The web console is not built: run `npm run build:console` (setup does it), then reload.\n');
      return;
    }
    res.sendFile(index);
  });
  return router;
}
