import { Link, useParams } from 'react-router-dom';
import type { FileRef } from '../../cli/views';
import type { StepAttempt, StepState } from '../../domain/types';
import type { Snapshot } from '../api';
import { CodeBlock } from '../components/CodeBlock';
import { Controls } from '../components/Controls';
import { PlanGraph } from '../components/PlanGraph';
import { ProgressBar } from '../components/ProgressBar';
import { isActive } from '../../domain/status';
import { StatusBadge } from '../components/StatusBadge';
import { bytes, duration, usd, when } from '../format';
import { useExecution } from '../useExecution';

const AUTHORS: Record<string, string> = { model: 'the model', caller: 'the caller', person: 'a person' };

export function RunPage() {
  const id = useParams().id!;
  const { snapshot: run, problem, stale, output, refresh } = useExecution(id);

  if (run === null) {
    if (problem?.kind === 'not_found') {
      return (
        <section>
          <h1>Run not found</h1>
          <p>{problem.text}</p>
          <p>
            <Link to="/runs">See the runs</Link>
          </p>
        </section>
      );
    }
    return (
      <section>
        <h1>Run</h1>
        <p role={problem ? 'alert' : 'status'} className={problem ? 'banner banner-error' : 'muted'}>
          {problem ? `${problem.text} Retrying…` : 'Loading the run…'}
        </p>
      </section>
    );
  }

  const active = isActive(run.status);
  return (
    <article className="run">
      <div className="heading-row">
        <h1>{run.task ?? (run.kind === 'code' ? 'Code run' : 'Run')}</h1>
        <StatusBadge status={run.status} />
      </div>
      <p className="muted small">
        {run.id} · {run.triggeredBy} · started {when(run.createdAt)}
        {run.completedAt && ` · ended ${when(run.completedAt)}`}
        {run.parentId && (
          <>
            {' '}
            · retry of <Link to={`/runs/${encodeURIComponent(run.parentId)}`}>{run.parentId}</Link>
          </>
        )}{' '}
        · <a href={run.links.temporalUi}>Open in the Temporal Web UI</a>
      </p>
      {stale && (
        <p className="banner banner-warning" role="status">
          No worker can answer for this run right now: what is shown is its last state seen, and it may have moved on.
        </p>
      )}
      {problem && (
        <p className="banner banner-error" role="alert">
          {problem.text} What is shown is as it was last read.
        </p>
      )}
      <ProgressBar progress={run.progress} active={active} />
      <Controls run={run} refresh={refresh} />
      {run.error && (
        <section className="failure" aria-labelledby="failure-title">
          <h2 id="failure-title">Why it {run.status === 'cancelled' ? 'stopped' : 'failed'}</h2>
          <p>
            <code>{run.error.code}</code> {run.error.message}
            {run.error.stepId && ` (step ${run.error.stepId})`}
          </p>
        </section>
      )}
      {run.result && <Answer run={run} />}
      {run.plan && (
        <section aria-labelledby="plan-title">
          <h2 id="plan-title">Plan</h2>
          <PlanGraph plan={run.plan} steps={run.steps} />
        </section>
      )}
      <section aria-labelledby="steps-title">
        <h2 id="steps-title">Steps</h2>
        {run.steps.length === 0 && <p className="muted">No step has started yet.</p>}
        {run.steps.map((step) => (
          <Step
            key={step.id}
            step={step}
            title={run.plan?.steps.find((s) => s.id === step.id)?.title}
            output={output}
          />
        ))}
      </section>
      {run.inputs.length > 0 && (
        <section aria-labelledby="inputs-title">
          <h2 id="inputs-title">Uploaded files</h2>
          <Files files={run.inputs as FileRef[]} />
        </section>
      )}
      <Metrics run={run} />
      <Timeline run={run} />
    </article>
  );
}

function Answer({ run }: { run: Snapshot }) {
  const result = run.result!;
  const plots = result.outputs.plots as FileRef[];
  return (
    <section className="answer" aria-labelledby="answer-title">
      <h2 id="answer-title">Answer</h2>
      {result.analysis ? <p className="analysis">{result.analysis}</p> : <p className="muted">No written answer.</p>}
      {plots.map((plot) => (
        <figure key={plot.key}>
          <img src={plot.url} alt={`Plot ${plot.name}`} />
          <figcaption>{plot.name}</figcaption>
        </figure>
      ))}
      {/* The plots are shown above; the other files are listed to download. */}
      {result.files.some((file) => !plots.some((plot) => plot.key === file.key)) && (
        <Files files={(result.files as FileRef[]).filter((file) => !plots.some((plot) => plot.key === file.key))} />
      )}
    </section>
  );
}

function Step({ step, title, output }: { step: StepState; title?: string; output: Record<string, string> }) {
  return (
    <section className="step" id={`step-${step.id}`} aria-labelledby={`step-title-${step.id}`}>
      <h3 id={`step-title-${step.id}`}>
        {title ?? step.id} <StatusBadge status={step.status} />
      </h3>
      {step.status === 'running' && step.attempts.length === 0 && output[`${step.id}/1`] === undefined && (
        <p className="muted">Working on it…</p>
      )}
      {step.status === 'running' &&
        Object.entries(output)
          .filter(([key]) => key.startsWith(`${step.id}/`) && !step.attempts.some((a) => `${step.id}/${a.n}` === key))
          .map(([key, text]) => (
            <div key={key}>
              <h4>Output so far (attempt {key.split('/')[1]})</h4>
              <pre className="output" aria-live="polite">
                {text}
              </pre>
            </div>
          ))}
      {step.attempts.map((attempt, index) => (
        <Attempt key={attempt.n} stepId={step.id} attempt={attempt} open={index === step.attempts.length - 1} />
      ))}
    </section>
  );
}

function Attempt({ stepId, attempt, open }: { stepId: string; attempt: StepAttempt; open: boolean }) {
  return (
    <details className={`attempt attempt-${attempt.status}`} open={open}>
      <summary>
        Attempt {attempt.n}: {attempt.status}
        {attempt.reused ? ', reused from the parent run' : ''} · written by {AUTHORS[attempt.author] ?? attempt.author}{' '}
        · {duration(attempt.durationMs)}
      </summary>
      <CodeBlock code={attempt.code} label={`Code of step ${stepId}, attempt ${attempt.n}`} />
      {attempt.stdout && (
        <>
          <h4>Output</h4>
          <pre className="output">{attempt.stdout}</pre>
        </>
      )}
      {attempt.stderr && (
        <>
          <h4>Errors printed</h4>
          <pre className="output stderr">{attempt.stderr}</pre>
        </>
      )}
      {attempt.error && (
        <div className="attempt-error">
          <p>
            <code>{attempt.error.code}</code> {attempt.error.message}
          </p>
          {attempt.error.traceback && <pre className="output stderr">{attempt.error.traceback}</pre>}
        </div>
      )}
      {attempt.files.length > 0 && <Files files={attempt.files as FileRef[]} />}
    </details>
  );
}

function Files({ files }: { files: FileRef[] }) {
  return (
    <ul className="files">
      {files.map((file) => (
        <li key={file.key}>
          {file.contentType.startsWith('image/') && file.url && (
            <img className="thumb" src={file.url} alt={file.name} />
          )}
          <a href={file.url} download={file.name}>
            {file.name}
          </a>{' '}
          <span className="muted small">{bytes(file.size)}</span>
        </li>
      ))}
    </ul>
  );
}

function Metrics({ run }: { run: Snapshot }) {
  const m = run.metrics;
  const rows: Array<[string, string]> = [
    ['Duration', duration(m.totalDurationMs)],
    ['Working time (without pauses and waits)', duration(m.effectiveDurationMs)],
    ['Tokens', `${m.tokens.prompt + m.tokens.completion} (${m.tokens.prompt} in, ${m.tokens.completion} out)`],
    ['Cost', usd(m.costUsd)],
    ['Code attempts', String(m.attempts)],
    ['Sandbox time', duration(m.sandboxSeconds * 1000)],
    ['CPU use in the sandbox', m.resourceEfficiency === null ? '–' : `${Math.round(m.resourceEfficiency * 100)} %`],
    ['Quality score', m.qualityScore === null ? '–' : m.qualityScore.toFixed(2)],
  ];
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      <dl className="metrics">
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {m.quality && (
        <p className="muted small">
          Quality: completeness {m.quality.completeness.toFixed(2)} × groundedness{' '}
          {m.quality.groundedness === null ? '–' : m.quality.groundedness.toFixed(2)} ({m.quality.numbersGrounded} of{' '}
          {m.quality.numbersQuoted} numbers quoted appear in the code’s output)
        </p>
      )}
    </section>
  );
}

function Timeline({ run }: { run: Snapshot }) {
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol className="timeline">
        {run.timeline.map((event) => (
          <li key={event.seq}>
            <time dateTime={event.at}>{new Date(event.at).toLocaleTimeString()}</time> <strong>{event.event}</strong>{' '}
            {event.description}
          </li>
        ))}
      </ol>
      {run.messages.length > 0 && (
        <>
          <h3>Messages</h3>
          <ul className="messages">
            {run.messages.map((message) => (
              <li key={message.seq} className={`message message-${message.level}`}>
                <span className="badge">{message.level}</span> {message.message}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
