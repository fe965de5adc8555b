import { useCallback, useEffect, useState } from 'react';
import { ApiError, describeError } from '../api';

/** Data read from the gateway, with its failure in words, `notFound` for a 404, and a way to read it again. */
export function useLoad<T>(read: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notFound, setNotFound] = useState(false);
  const load = useCallback(read, deps);
  const reload = useCallback(async () => {
    try {
      setData(await load());
      setError(null);
      setNotFound(false);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) setNotFound(true);
      else setError(describeError(failure));
    }
  }, [load]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, notFound, reload };
}
