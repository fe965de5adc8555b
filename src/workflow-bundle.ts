import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const sources = path.join(root, 'src');
/** Where bundles are kept; setup builds the current one, the worker builds it when it is missing. */
export const DEFAULT_BUNDLE_DIR = path.join(root, '.tools', 'workflow-bundle');

/**
 * A hash of everything the bundle is made from: the service's sources and the locked dependencies.
 * Any change to either makes a new bundle.
 */
export function workflowSourcesHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
        hash.update(`${path.relative(root, file)}\n`).update(readFileSync(file));
      }
    }
  };
  walk(sources);
  hash.update(readFileSync(path.join(root, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The workflow bundle for the current sources: the one already built if there is one, else built
 * now (a few seconds) and kept for the next start. A folder that cannot be written only costs the
 * next start the same few seconds.
 */
export async function cachedWorkflowBundle(
  dir = DEFAULT_BUNDLE_DIR,
): Promise<{ bundle: NonNullable<WorkerOptions['workflowBundle']>; built: boolean }> {
  const codePath = path.join(dir, `workflows-${workflowSourcesHash()}.js`);
  try {
    statSync(codePath);
    return { bundle: { codePath }, built: false };
  } catch {
    // not built yet
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(sources, 'workflows'),
    // OpenTelemetry's workflow interceptors: spans of each workflow, its activities and children, sent
    // through the workers' `exporter` sink (dropped unless tracing is on), context in the headers.
    workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    logger: quiet,
  });
  try {
    mkdirSync(dir, { recursive: true });
    // Older bundles go; a running worker has read its own already.
    for (const old of readdirSync(dir)) {
      if (/^workflows-\w+\.js$/.test(old)) rmSync(path.join(dir, old), { force: true });
    }
    const partial = `${codePath}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, codePath);
    return { bundle: { codePath }, built: true };
  } catch {
    return { bundle: { code }, built: true };
  }
}

/** The bundler's statistics are of no use to an operator. */
const quiet = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(`workflow bundle: ${message}`),
  error: (message: string) => console.error(`workflow bundle: ${message}`),
};
