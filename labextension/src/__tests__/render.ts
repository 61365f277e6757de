/**
 * A minimal React test renderer: mount into a detached div, flush effects with act.
 */
import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

// Tells React that updates are wrapped in act() (no warnings, effects flushed).
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** A mounted element and how to tear it down. */
export interface IMounted {
  container: HTMLDivElement;
  root: Root;
  unmount: () => void;
}

/**
 * Render an element into a fresh container attached to the document.
 *
 * @param element - What to render.
 * @returns The container and an unmount function.
 */
export async function mount(element: React.ReactElement): Promise<IMounted> {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  await act(async () => {
    root.render(element);
  });
  return {
    container,
    root,
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    }
  };
}

/**
 * Let pending promises settle and React re-render (optionally advancing fake timers).
 *
 * @param ms - Milliseconds of fake time to advance; 0 with real timers.
 */
export async function flush(ms = 0): Promise<void> {
  await act(async () => {
    if (ms > 0) {
      await jest.advanceTimersByTimeAsync(ms);
    } else {
      for (let i = 0; i < 5; i++) {
        await Promise.resolve();
      }
    }
  });
}
