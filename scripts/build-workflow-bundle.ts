/** Builds the workflow bundle for the current sources unless it is already there (part of setup). */
import { cachedWorkflowBundle } from '../src/workflow-bundle';

async function main(): Promise<void> {
  const started = Date.now();
  const { built } = await cachedWorkflowBundle();
  if (built) console.log(`[setup] workflow bundle built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(`[setup] the workflow bundle could not be built: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
