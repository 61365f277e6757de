/**
 * React hooks that connect components to Lumino signals and the JupyterLab theme.
 */
import { ISignal } from '@lumino/signaling';
import { useEffect, useState } from 'react';

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
