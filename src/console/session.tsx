import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { ApiError, api, describeError, setCsrfToken, whenSignedOut, type Session } from './api';

interface SessionState {
  /** Undefined while it is being found out; null when no one is signed in. */
  session: Session | null | undefined;
  /** Set when the gateway could not say (it is down, for instance). */
  problem: string | null;
  signIn(key: string): Promise<void>;
  signOut(): Promise<void>;
  can(scope: 'read' | 'run' | 'admin'): boolean;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [problem, setProblem] = useState<string | null>(null);

  const adopt = useCallback((next: Session | null) => {
    setCsrfToken(next?.csrfToken ?? null);
    setSession(next);
  }, []);

  useEffect(() => {
    whenSignedOut(() => adopt(null));
    let cancelled = false;
    const ask = () =>
      api.session().then(
        (found) => !cancelled && (setProblem(null), adopt(found)),
        (error: unknown) => {
          if (cancelled) return;
          if (error instanceof ApiError && error.status === 401) {
            setProblem(null);
            adopt(null);
          } else {
            // Not an answer about the session: say so, and ask again shortly.
            setProblem(describeError(error));
            setTimeout(ask, 3000);
          }
        },
      );
    void ask();
    return () => {
      cancelled = true;
    };
  }, [adopt]);

  const value: SessionState = {
    session,
    problem,
    signIn: async (key) => adopt(await api.signIn(key)),
    signOut: async () => {
      await api.signOut().catch(() => undefined);
      adopt(null);
    },
    can: (scope) => session?.scopes.includes(scope) ?? false,
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) throw new Error('useSession outside SessionProvider');
  return state;
}
