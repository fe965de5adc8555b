import { useEffect, useState } from 'react';
import { NavLink, Outlet } from 'react-router-dom';
import { api, describeError, type Health } from '../api';
import { SignInPage } from '../pages/SignInPage';
import { useSession } from '../session';

/** The gateway's health, asked every 5 s: null until the first answer, an error text when it gave none. */
function useHealth(): { health: Health | null; unreachable: string | null } {
  const [health, setHealth] = useState<Health | null>(null);
  const [unreachable, setUnreachable] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    const ask = () =>
      api.health().then(
        (answer) => {
          if (cancelled) return;
          setHealth(answer);
          setUnreachable(null);
        },
        (error: unknown) => !cancelled && setUnreachable(describeError(error)),
      );
    void ask();
    const timer = setInterval(ask, 5000);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, []);
  return { health, unreachable };
}

/** What is wrong with the deployment right now, in words; nothing when all is well. */
function HealthBanner() {
  const { health, unreachable } = useHealth();
  let text: string | null = null;
  if (unreachable !== null) text = unreachable;
  else if (health?.temporal === 'down')
    text = 'Temporal cannot be reached: runs cannot be read or started until it is back. This page retries by itself.';
  else if (health?.worker === 'down')
    text = 'No worker is polling the task queue: new runs wait in “queued” and controls are refused until one runs.';
  if (text === null) return null;
  return (
    <div className="banner banner-warning" role="alert">
      {text}
    </div>
  );
}

export function Layout() {
  const { session, problem, signOut } = useSession();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Agent executions</span>
        {session && (
          <nav aria-label="Main">
            <NavLink to="/runs" end>
              Runs
            </NavLink>
            <NavLink to="/runs/new">New run</NavLink>
            <NavLink to="/tasks">Tasks</NavLink>
            {session.scopes.includes('admin') && <NavLink to="/keys">Keys</NavLink>}
            {session.scopes.includes('admin') && <NavLink to="/subscriptions">Subscriptions</NavLink>}
          </nav>
        )}
        {session && (
          <div className="who">
            <span title={`key ${session.keyId}`}>{session.operator ? 'operator' : session.tenant}</span>
            {session.required && (
              <button type="button" className="link" onClick={() => void signOut()}>
                Sign out
              </button>
            )}
          </div>
        )}
      </header>
      <HealthBanner />
      <main id="main" tabIndex={-1}>
        {session === undefined ? (
          <p className="muted" role="status">
            {problem ?? 'Connecting to the gateway…'}
          </p>
        ) : session === null ? (
          <SignInPage />
        ) : (
          <Outlet />
        )}
      </main>
    </>
  );
}
