import type { Activities } from '../activities';
import type { ExecutionRecord } from '../domain/execution-record';
import type { ArtifactRef, ExecutionInput } from '../domain/types';
import type { AlertWatch } from './alerts';
import type { Control } from './control';
import type { Notifier } from './notifier';

/**
 * What changed in the workflow's behaviour since executions first ran, as the `patched()` markers
 * of this execution's history say. Executions started before a change replay the old behaviour.
 */
export interface Features {
  /**
   * Behaviour of the reshaped core (patch `core-2`): given code runs as sent unless `repair`;
   * `pause`/`resume`/`input` signals; each parallel branch in its own cancellation scope; `starting`
   * while the execution is prepared; `error.recoverable` and `error.context`.
   */
  core2: boolean;
  /**
   * Alerts (patch `alerts`): conditions from the input and the `setAlert` update, evaluated by a
   * watch that may set timers, and sent to the sandbox runs for their samples.
   */
  alerts: boolean;
}

/** The resources the parts of one execution share, built once by the workflow. */
export interface ExecutionContext {
  input: ExecutionInput;
  record: ExecutionRecord;
  control: Control;
  notifier: Notifier;
  features: Features;
  /** The execution's alerts; null in executions started before alerts existed. */
  alerts: AlertWatch | null;
  llm: Pick<Activities, 'plan' | 'generateCode' | 'analyze'>;
  checks: Pick<Activities, 'validateCode'>;
  sandbox: Pick<Activities, 'executeCode' | 'profileFiles'>;
  /** The profile of the uploaded files, once the sandbox made one: the prompts quote it. */
  profile?: ArtifactRef;
  /** Set once the execution asked its tenant's slots workflow for a slot: it gives it back at the end. */
  slotRequested?: boolean;
}
