import type { Progress } from '../../domain/types';
import { duration } from '../format';

const PHASES: Record<string, string> = {
  queued: 'Queued',
  profiling: 'Reading the files',
  planning: 'Planning',
  generating: 'Writing code',
  validating: 'Checking the code',
  executing: 'Running code',
  analyzing: 'Writing the answer',
  done: 'Done',
};

export function ProgressBar({ progress, active }: { progress: Progress; active: boolean }) {
  const percent = Math.round(progress.percentage);
  const left =
    active && progress.estimatedTimeRemainingMs !== null
      ? `about ${duration(progress.estimatedTimeRemainingMs)} left`
      : null;
  return (
    <div className="progress">
      <div className="progress-label" id="progress-label">
        <strong>{PHASES[progress.currentPhase] ?? progress.currentPhase}</strong>
        {progress.currentStep && <span> · step {progress.currentStep}</span>}
        <span>
          {' '}
          · {progress.completedSteps}/{progress.totalSteps} steps · {percent}%
        </span>
        {left && <span> · {left}</span>}
      </div>
      <progress max={100} value={percent} aria-labelledby="progress-label" />
    </div>
  );
}
