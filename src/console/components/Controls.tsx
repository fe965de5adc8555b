import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, describeError, type Snapshot } from '../api';
import { useSession } from '../session';
import { isActive } from '../../domain/status';
import { ErrorText } from './FormBits';

/** Sends one control request, with what the gateway answered shown beside the buttons. */
function useAction(after: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      after();
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/**
 * The controls the run's state allows, and only those: pause, resume and cancel; the answer to what
 * it waits for (a plan's approval, a failing step's hint or code, a budget); retry from a step, with
 * its code edited, once it has ended.
 */
export function Controls({ run, refresh }: { run: Snapshot; refresh: () => void }) {
  const { can } = useSession();
  const { busy, error, run: act } = useAction(refresh);
  if (!can('run')) return <p className="muted">This key may read the run but not control it.</p>;
  const id = run.id;
  const status = run.status;
  return (
    <div className="controls">
      <div className="buttons" role="group" aria-label="Controls">
        {status === 'running' && (
          <button type="button" disabled={busy} onClick={() => void act(() => api.control(id, 'pause'))}>
            Pause
          </button>
        )}
        {status === 'paused' && (
          <button type="button" disabled={busy} onClick={() => void act(() => api.control(id, 'resume'))}>
            Resume
          </button>
        )}
        {isActive(status) && (
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={() =>
              window.confirm('Cancel this run? Its sandbox is stopped at once.') &&
              void act(() => api.control(id, 'cancel'))
            }
          >
            Cancel
          </button>
        )}
      </div>
      {status === 'awaiting_input' && run.awaiting && <Answer run={run} busy={busy} act={act} />}
      {!isActive(status) && run.plan && <Retry run={run} />}
      <ErrorText error={error} />
    </div>
  );
}

function Answer({
  run,
  busy,
  act,
}: {
  run: Snapshot;
  busy: boolean;
  act: (action: () => Promise<unknown>) => Promise<void>;
}) {
  const awaiting = run.awaiting!;
  const [text, setText] = useState('');
  const [code, setCode] = useState('');
  const [budget, setBudget] = useState(String(((run.options?.budgetUsd ?? 0) as number) * 2 || 1));
  const send = (body: { approve?: boolean; input?: unknown }) => void act(() => api.input(run.id, body));
  return (
    <section className="awaiting" aria-labelledby="awaiting-title">
      <h2 id="awaiting-title">
        {awaiting.kind === 'approval'
          ? 'The plan waits for your approval'
          : awaiting.kind === 'recovery'
            ? 'A step keeps failing: what next?'
            : awaiting.kind === 'budget'
              ? 'The budget is reached'
              : 'The run asks a question'}
      </h2>
      <p className="prompt">{awaiting.prompt}</p>
      {awaiting.kind === 'approval' && (
        <div className="buttons">
          <button type="button" disabled={busy} onClick={() => send({ approve: true })}>
            Approve the plan
          </button>
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={() => send({ approve: false, input: text || 'rejected' })}
          >
            Reject
          </button>
          <label className="inline">
            Reason (for a rejection)
            <input value={text} onChange={(event) => setText(event.target.value)} />
          </label>
        </div>
      )}
      {awaiting.kind === 'recovery' && (
        <>
          <form
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              send({ input: { hint: text } });
            }}
          >
            <label htmlFor="hint">A hint for the model, to write the code again</label>
            <input id="hint" value={text} onChange={(event) => setText(event.target.value)} />
            <button type="submit" disabled={busy || text.trim() === ''}>
              Send the hint
            </button>
          </form>
          <form
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              send({ input: { code } });
            }}
          >
            <label htmlFor="answer-code">Or code to run for this step</label>
            <textarea
              id="answer-code"
              className="code"
              rows={6}
              spellCheck={false}
              value={code}
              onChange={(event) => setCode(event.target.value)}
            />
            <button type="submit" disabled={busy || code.trim() === ''}>
              Run this code
            </button>
          </form>
          <button type="button" className="danger" disabled={busy} onClick={() => send({ approve: false })}>
            Give up (the run fails)
          </button>
        </>
      )}
      {awaiting.kind === 'budget' && (
        <form
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            send({ approve: true, input: { budgetUsd: Number(budget) } });
          }}
        >
          <label htmlFor="budget">New budget in US dollars</label>
          <input
            id="budget"
            type="number"
            min={0}
            step="0.01"
            value={budget}
            onChange={(event) => setBudget(event.target.value)}
          />
          <button type="submit" disabled={busy}>
            Raise the budget
          </button>
          <button type="button" className="danger" disabled={busy} onClick={() => send({ approve: false })}>
            Stop here
          </button>
        </form>
      )}
      {awaiting.kind === 'input' && (
        <form
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            send({ input: text });
          }}
        >
          <label htmlFor="answer-text">Your answer</label>
          <input id="answer-text" value={text} onChange={(event) => setText(event.target.value)} />
          <button type="submit" disabled={busy}>
            Send
          </button>
        </form>
      )}
    </section>
  );
}

/** A new linked run from a step of this one, with that step's code as it was, to edit. */
function Retry({ run }: { run: Snapshot }) {
  const navigate = useNavigate();
  const steps = run.plan!.steps;
  const failed = run.steps.find((step) => step.status === 'failed')?.id ?? steps[0]!.id;
  const [fromStep, setFromStep] = useState(failed);
  const codeOf = (stepId: string) => run.steps.find((step) => step.id === stepId)?.attempts.at(-1)?.code ?? '';
  const [code, setCode] = useState(codeOf(failed));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const edited = code.trim() !== '' && code !== codeOf(fromStep) ? code : undefined;
      const retried = await api.retry(run.id, fromStep, edited);
      navigate(`/runs/${encodeURIComponent(retried.id)}`);
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  };
  return (
    <details className="retry">
      <summary>Retry from a step</summary>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="retry-step">From step</label>
        <select
          id="retry-step"
          value={fromStep}
          onChange={(event) => {
            setFromStep(event.target.value);
            setCode(codeOf(event.target.value));
          }}
        >
          {steps.map((step) => (
            <option key={step.id} value={step.id}>
              {step.title || step.id}
            </option>
          ))}
        </select>
        <label htmlFor="retry-code">Its code (edit it, or leave it for the model to write again)</label>
        <textarea
          id="retry-code"
          className="code"
          rows={8}
          spellCheck={false}
          value={code}
          onChange={(event) => setCode(event.target.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Retry'}
        </button>
      </form>
    </details>
  );
}
