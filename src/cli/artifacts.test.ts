import type { ArtifactRef } from '../domain/types';
import { artifactPath, executionFiles, pickFile, resultFiles } from './artifacts';
import type { Snapshot } from './views';

const ref = (name: string, key: string, contentType = 'text/csv'): ArtifactRef => ({
  name,
  key,
  size: 10,
  sha256: 'x',
  contentType,
});

const snapshot = {
  id: 'exec-1',
  inputs: [ref('sales.csv', 'inputs/sales.csv')],
  steps: [
    {
      id: 'main',
      status: 'succeeded',
      attempts: [
        { n: 1, status: 'failed', files: [ref('out.csv', 'steps/main/1/out.csv')], results: [] },
        {
          n: 2,
          status: 'succeeded',
          files: [ref('out.csv', 'steps/main/2/out.csv'), ref('revenue.png', 'steps/main/2/revenue.png', 'image/png')],
          results: [],
        },
      ],
    },
  ],
  result: {
    analysis: 'ok',
    outputs: { plots: [ref('revenue.png', 'steps/main/2/revenue.png', 'image/png')], data: null },
    files: [ref('out.csv', 'steps/main/2/out.csv'), ref('revenue.png', 'steps/main/2/revenue.png', 'image/png')],
  },
} as unknown as Snapshot;

describe("an execution's files", () => {
  test('every file once: the uploads, each attempt’s, the results marked', () => {
    expect(executionFiles(snapshot).map((file) => [file.name, file.from, file.result])).toEqual([
      ['sales.csv', 'input', false],
      ['out.csv', 'main#1', false],
      ['out.csv', 'main#2', true],
      ['revenue.png', 'main#2', true],
    ]);
    expect(resultFiles(snapshot.result).map((file) => file.key)).toEqual([
      'steps/main/2/out.csv',
      'steps/main/2/revenue.png',
    ]);
  });

  test('a name picks the result’s file; a key picks exactly that one', () => {
    const files = executionFiles(snapshot);
    expect(pickFile(files, 'out.csv', 'exec-1').key).toBe('steps/main/2/out.csv');
    expect(pickFile(files, 'steps/main/1/out.csv', 'exec-1').from).toBe('main#1');
    expect(() => pickFile(files, 'nope.csv', 'exec-1')).toThrow('agent-exec files exec-1');
  });

  test('download paths keep the key’s folders and escape the rest', () => {
    expect(artifactPath('exec-1', { key: 'steps/main/2/a b.csv' })).toBe(
      '/api/executions/exec-1/artifacts/steps/main/2/a%20b.csv',
    );
    expect(artifactPath('exec-1', { key: 'x', url: '/given' })).toBe('/given');
  });
});
