/**
 * React hooks that connect components to Lumino signals, the REST API and the
 * JupyterLab theme.
 */
import { ISignal } from '@lumino/signaling';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

import { errorMessage, StoreBusyError } from './api';

/**
 * Re-render the calling component whenever a signal emits.
 *
 * @param signal - The signal, e.g. `model.changed`.
 * @returns A counter that increases on every emission (usable as an effect dependency).
 */
export function useSignal<T>(signal: ISignal<T, unknown>): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const slot = (): void => setVersion(v => v + 1);
    signal.connect(slot);
    return () => {
      signal.disconnect(slot);
    };
  }, [signal]);
  return version;
}

/**
 * The current theme, re-read when the user switches themes.
 *
 * JupyterLab marks the theme on `<body>` (`data-jp-theme-name`,
 * `data-jp-theme-light`); watching those avoids depending on IThemeManager.
 *
 * @returns The theme name plus `:light`/`:dark`; changes when the theme does.
 */
export function useThemeKey(): string {
  const read = (): string =>
    `${document.body.dataset.jpThemeName ?? ''}:${
      document.body.dataset.jpThemeLight === 'false' ? 'dark' : 'light'
    }`;
  const [key, setKey] = useState(read);
  useEffect(() => {
    const observer = new MutationObserver(() => setKey(read()));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
    return () => observer.disconnect();
  }, []);
  return key;
}

/**
 * What {@link useRequest} knows about its request.
 */
export interface IRequestState<T> {
  /**
   * The latest answer. While another key loads it may answer an earlier key
   * ({@link isStale}); a failed request keeps the last answer.
   */
  data: T | null;
  /** Whether {@link data} answers an earlier key than the current one. */
  isStale: boolean;
  /** The message of the current key's last failure; cleared by its next answer or a busy store. */
  error: string | null;
  /** Whether the current key's request has not been answered yet. */
  loading: boolean;
  /** Whether the store was busy: the request is sent again after its Retry-After. */
  busy: boolean;
  /** Send the current key's request again (keeps data and error until it answers). */
  reload: () => void;
}

interface ISettled<T> {
  data: T | null;
  dataKey: string | null;
  error: string | null;
  errorKey: string | null;
  busyKey: string | null;
  /** The attempt (key and round) the last answer or failure belongs to. */
  attempt: string | null;
}

/**
 * Fetch data for a component: once per key, again on `version` or `reload()`, and
 * again after Retry-After while the store is busy. Answers to a request that is no
 * longer current (the key changed, the component unmounted) are dropped.
 *
 * @param key - Identifies the request (e.g. the run id); null sends nothing.
 * @param request - Sends it; the latest function is used, so it may be an inline closure.
 * @param version - Anything that changes when the data may have changed: refetches
 *   without treating the data as stale.
 * @returns The answer, the error or busy state, and `reload`.
 */
export function useRequest<T>(
  key: string | null,
  request: () => Promise<T>,
  version: string | number = 0
): IRequestState<T> {
  const latest = useRef(request);
  useLayoutEffect(() => {
    latest.current = request;
  });
  const [round, setRound] = useState(0);
  const [state, setState] = useState<ISettled<T>>({
    data: null,
    dataKey: null,
    error: null,
    errorKey: null,
    busyKey: null,
    attempt: null
  });
  const attempt = JSON.stringify([key, version, round]);

  useEffect(() => {
    if (key === null) {
      return;
    }
    let current = true;
    let timer: number | undefined;
    const tag = JSON.stringify([key, version, round]);
    latest.current().then(
      data => {
        if (current) {
          setState({
            data,
            dataKey: key,
            error: null,
            errorKey: null,
            busyKey: null,
            attempt: tag
          });
        }
      },
      (reason: unknown) => {
        if (!current) {
          return;
        }
        if (reason instanceof StoreBusyError) {
          // Not an error: another process holds the store for a moment.
          setState(old => ({ ...old, error: null, errorKey: null, busyKey: key }));
          timer = window.setTimeout(() => setRound(r => r + 1), reason.retryAfter * 1000);
          return;
        }
        const error = errorMessage(reason);
        setState(old => ({ ...old, error, errorKey: key, busyKey: null, attempt: tag }));
      }
    );
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [key, version, round]);

  const reload = useCallback(() => setRound(r => r + 1), []);
  const loading = key !== null && state.attempt !== attempt;
  return {
    data: state.data,
    isStale: state.dataKey !== key,
    error: state.errorKey === key ? state.error : null,
    loading,
    busy: loading && state.busyKey === key,
    reload
  };
}
