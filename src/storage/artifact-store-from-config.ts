import type { Config } from '../config';
import { ArtifactStoreUnavailableError, type ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';
import { S3ArtifactStore } from './s3-artifact-store';

/** The store the configuration asks for: the folder `<DATA_DIR>/artifacts`, or an S3-compatible bucket. */
export function artifactStoreFromConfig(config: Config): ArtifactStore {
  return config.artifacts.kind === 's3'
    ? S3ArtifactStore.fromSettings(config.artifacts.s3)
    : new LocalArtifactStore(config.artifacts.dir);
}

/**
 * Checks the store at start: wrong settings (no such bucket, refused credentials, a folder that
 * cannot be written) throw, so that the process stops with the reason; a store that cannot be reached
 * for now is only warned about, as file requests answer 503 until it is back.
 */
export async function checkArtifactStore(store: ArtifactStore, warn: (message: string) => void): Promise<void> {
  try {
    await store.check();
  } catch (error) {
    if (!(error instanceof ArtifactStoreUnavailableError)) throw error;
    warn(error.message);
  }
}
