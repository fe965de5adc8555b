/**
 * Replays every recorded history in test/fixtures/histories through the current workflow code. A
 * failure means executions started before a change would break on the next worker: put the change
 * behind `patched()` rather than recording the history again. Recording: scripts/record-histories.ts.
 */
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { DefaultLogger, Runtime, Worker, type ReplayResult, type ReplayWorkerOptions } from '@temporalio/worker';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { workflowSpanSinks } from '../../src/telemetry';
import path from 'node:path';

const HISTORIES_DIR = path.resolve(__dirname, '../fixtures/histories');

// Read at collection time so that every file becomes its own test, named after it.
const files = existsSync(HISTORIES_DIR)
  ? readdirSync(HISTORIES_DIR)
      .filter((file) => file.endsWith('.json'))
      .sort()
  : [];

/**
 * `historyFromJSON` of @temporalio/common, or the same conversion with the protobufjs copy that
 * @temporalio/proto was built with. npm gives common and proto separate copies of protobufjs 8 when
 * another package keeps protobufjs 7 at the top of node_modules (@grpc/proto-loader does here); the
 * SDK's function then fails its `instanceof Type` check with "type must be a Type". The fallback skips
 * the SDK's fix-ups for old tctl exports, which files written by historyToJSON do not need.
 */
function readHistory(file: string): History {
  const json: unknown = JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  try {
    return historyFromJSON(json);
  } catch (error) {
    if (!(error instanceof TypeError && error.message === 'type must be a Type')) throw error;
  }
  const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
    fromJson(type: unknown, value: unknown, options: { ignoreUnknownFields: boolean }): History | null;
  };
  const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
  const history = protojson.fromJson(root.lookupType('temporal.api.history.v1.History'), json, {
    ignoreUnknownFields: true,
  });
  if (history === null) throw new TypeError(`${file} is not a history`);
  return history;
}

const CLOSING_EVENTS = new Set([
  proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
]);

describe('recorded histories replay on the current workflow code', () => {
  const histories = new Map<string, History>();
  const results = new Map<string, ReplayResult>();
  const fileOf = new Map<string, string>();

  /**
   * The id the workflow had when it was recorded, where its commands name it (the delivery workflows
   * of its events are named after it); else the file's name, which is unique.
   */
  const workflowIdOf = (file: string, history: History): string => {
    const child = history.events?.find((event) => event.startChildWorkflowExecutionInitiatedEventAttributes)
      ?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    const id = child ? (/^notify-(.+)-\d+$/.exec(child)?.[1] ?? file) : file;
    fileOf.set(id, file);
    return id;
  };

  beforeAll(async () => {
    if (files.length === 0) return;
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // Already installed in this process.
    }
    for (const file of files) histories.set(file, readHistory(file));
    const bundlePath = process.env.TEST_WORKFLOW_BUNDLE;
    // The bundle's tracing interceptors send their spans to a sink every worker registers.
    const options: ReplayWorkerOptions = {
      ...(bundlePath
        ? { workflowBundle: { codePath: bundlePath } }
        : { workflowsPath: require.resolve('../../src/workflows') }),
      sinks: workflowSpanSinks(),
    };
    // One replay worker for all files; it shuts itself down when the iteration ends.
    const replays = Worker.runReplayHistories(
      options,
      files.map((file) => ({ workflowId: workflowIdOf(file, histories.get(file)!), history: histories.get(file) })),
    );
    for await (const result of replays) results.set(fileOf.get(result.workflowId) ?? result.workflowId, result);
  });

  test('there are histories to replay', () => {
    // A replay suite that replays nothing guards nothing.
    expect(files).not.toEqual([]);
  });

  for (const file of files) {
    test(`${file} replays without non-determinism`, () => {
      // A history cut short would replay, but would check only its beginning.
      const last = histories.get(file)?.events?.at(-1)?.eventType;
      expect(last !== null && last !== undefined && CLOSING_EVENTS.has(last)).toBe(true);
      const result = results.get(file);
      expect(result).toBeDefined();
      if (result?.error) throw new Error(`${file} no longer replays: ${result.error.name}: ${result.error.message}`);
    });
  }
});
