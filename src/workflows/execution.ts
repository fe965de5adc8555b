import { isCancellation, patched } from '@temporalio/workflow';
import { retryCanSucceed } from '../domain/errors';
import type { Plan, PlanStep } from '../domain/types';
import type { ExecutionContext } from './context';
import { describeFailure } from './failures';
import { StepRunner, type Prevalidated, type StepFailure } from './step-runner';

const CODE_STEP: PlanStep = { id: 'main', title: 'Run the given code', description: '', dependsOn: [] };

/**
 * The work of one execution: prepare (plan, or check the given code), ask for approval when
 * required, run the steps, then let the model explain the results or the failure.
 */
export class Execution {
  constructor(private readonly ctx: ExecutionContext) {}

  async run(): Promise<void> {
    const { record, input, control, features } = this.ctx;
    // Before `starting` covered the preparation, the execution was `running` from the start.
    if (!features.core2) control.transition('run', 'work began');

    const { plan, prevalidated } = await this.prepare();
    record.setPlan(plan);
    if (input.restore) {
      const { checkpointId, previousRunId, run } = input.restore;
      record.addEvent('step', 'RECOVERY_INITIATED', `restoring from checkpoint ${checkpointId}`, null, {
        strategy: 'restore_checkpoint',
        checkpointId,
        previousRunId,
        run,
        reused: Object.keys(input.reuse ?? {}),
        withCode: Object.keys(input.stepCode ?? {}),
      });
    } else if (input.parentId) {
      const reused = Object.keys(input.reuse ?? {});
      record.addEvent('step', 'RECOVERY_INITIATED', `retrying execution ${input.parentId}`, null, {
        strategy: 'restore',
        parentId: input.parentId,
        reused,
        withCode: Object.keys(input.stepCode ?? {}),
      });
    }

    if (input.options.requireApproval) {
      const answer = await control.ask('approval', `Approve the plan of ${plan.steps.length} step(s)?`, null);
      if (answer.approve !== true) {
        const why = typeof answer.input === 'string' && answer.input.trim() !== '' ? `: ${answer.input.trim()}` : '';
        record.cancel(`the plan was rejected${why}`);
        return;
      }
      record.log('info', 'the plan was approved');
    }

    const failure = await new StepRunner(this.ctx).runAll(plan, prevalidated);
    if (failure === null) await this.succeed(plan);
    else await this.fail(plan, failure);
  }

  /** The plan to run, and the given code's check when it was made while starting. */
  private async prepare(): Promise<{ plan: Plan; prevalidated: Prevalidated | null }> {
    const { record, input, control, features, llm, checks } = this.ctx;
    if (input.plan !== null) {
      await this.profile();
      return { plan: input.plan, prevalidated: null };
    }
    if (input.code !== null || input.task === null) {
      if (!features.core2 || input.code === null) return { plan: { steps: [CODE_STEP] }, prevalidated: null };
      // Given code is checked while the execution is starting: refused code never makes it `running`.
      await control.gate();
      record.setPhase('validating', CODE_STEP.id);
      const report = await checks.validateCode({ code: input.code, sandbox: input.options.sandbox });
      return { plan: { steps: [CODE_STEP] }, prevalidated: { code: input.code, report } };
    }
    await this.profile();
    await control.gate();
    await control.withinBudget('a model call', null);
    record.setPhase('planning', null);
    record.addEvent('step', 'TASK_STARTED', 'planning', null);
    const answer = await llm.plan({
      executionId: input.executionId,
      task: input.task,
      files: input.files,
      ...(this.ctx.profile ? { profile: this.ctx.profile } : {}),
      model: input.options.model,
      fallbackModels: input.options.fallbackModels,
    });
    record.addModelOutcome(answer, null);
    record.addEvent('step', 'TASK_COMPLETED', `planned ${answer.plan.steps.length} step(s)`, null);
    return { plan: answer.plan, prevalidated: null };
  }

  /**
   * Profiles the uploaded files in the sandbox before the model first sees them, so that the
   * prompts quote their real formats and column types. Without a profile (the sandbox failed, or
   * an execution from before profiles) the prompts show the files' first lines.
   */
  private async profile(): Promise<void> {
    const { record, input, control, sandbox } = this.ctx;
    if (input.task === null || input.files.length === 0 || !input.modelAvailable) return;
    // A restored run takes the profile its previous run made of the same files.
    const kept = input.restore?.dataProfile;
    if (kept) {
      record.setDataProfile(kept);
      if (kept.artifact) this.ctx.profile = kept.artifact;
      return;
    }
    if (!patched('data-profile')) return;
    await control.gate();
    record.setPhase('profiling', null);
    record.addEvent('step', 'TASK_STARTED', 'profiling the data files', null);
    try {
      const profile = await sandbox.profileFiles({
        executionId: input.executionId,
        files: input.files,
        sandbox: input.options.sandbox,
      });
      record.setDataProfile(profile);
      if (profile.artifact) this.ctx.profile = profile.artifact;
      const unread = profile.files.filter((file) => file.error !== undefined).map((file) => file.name);
      record.addEvent('step', 'TASK_COMPLETED', `profiled ${profile.files.length} file(s)`, null, { unread });
      for (const file of profile.files) {
        if (file.error !== undefined) record.log('warning', `${file.name} could not be read: ${file.error}`);
      }
    } catch (error) {
      if (isCancellation(error)) throw error;
      record.log(
        'warning',
        `the data files could not be profiled (${describeFailure(error)}); the model sees their first lines instead`,
      );
    }
  }

  private canAnalyze(): boolean {
    return this.ctx.input.modelAvailable && this.ctx.input.task !== null;
  }

  private async succeed(plan: Plan): Promise<void> {
    const { record, input, control, llm } = this.ctx;
    const outputs = record.outputs();
    let analysis: string | null = null;
    if (this.canAnalyze()) {
      await control.gate();
      await control.withinBudget('a model call', null);
      record.setPhase('analyzing', null);
      const stdout = record
        .snapshot()
        .steps.map((step) => step.attempts.find((attempt) => attempt.status === 'succeeded')?.stdout ?? '')
        .join('\n');
      const answer = await llm.analyze({
        executionId: input.executionId,
        task: input.task as string,
        plan,
        outcome: 'succeeded',
        stdout,
        results: outputs.data === null ? [] : [String(outputs.data)],
        files: outputs.files.map((file) => file.name),
        error: null,
        model: input.options.model,
        fallbackModels: input.options.fallbackModels,
      });
      record.addModelOutcome(answer, null);
      analysis = answer.analysis;
    }
    await control.gate();
    record.succeed({ analysis, outputs: { plots: outputs.plots, data: outputs.data }, files: outputs.files });
  }

  private async fail(plan: Plan, failure: StepFailure): Promise<void> {
    const { record, input, control, features, llm } = this.ctx;
    let message = failure.message;
    if (this.canAnalyze()) {
      await control.gate();
      await control.withinBudget('a model call', null);
      record.setPhase('analyzing', null);
      const answer = await llm.analyze({
        executionId: input.executionId,
        task: input.task as string,
        plan,
        outcome: 'failed',
        stdout: failure.stdout,
        results: [],
        files: [],
        error: failure.message,
        model: input.options.model,
        fallbackModels: input.options.fallbackModels,
      });
      record.addModelOutcome(answer, null);
      message = answer.analysis;
    }
    await control.gate();
    record.fail({
      code: failure.code,
      message,
      stepId: failure.stepId,
      recoverable: features.core2 && retryCanSucceed(failure.code, true),
      ...(features.core2
        ? {
            context: {
              stepId: failure.stepId,
              attempt: failure.attempt,
              errorCode: failure.code,
              ...(failure.strategy === null ? {} : { strategy: failure.strategy }),
            },
          }
        : {}),
    });
  }
}
