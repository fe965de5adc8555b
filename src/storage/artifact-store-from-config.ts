import path from 'node:path';
import type { Config } from '../config';
import type { ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';

/** The store the configuration asks for: for now always the folder `<DATA_DIR>/artifacts`. */
export function artifactStoreFromConfig(config: Config): ArtifactStore {
  return new LocalArtifactStore(path.join(config.dataDir, 'artifacts'));
}
