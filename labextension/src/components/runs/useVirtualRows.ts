/**
 * The runs table's scrolling state: which rows are on screen, and the keyboard cursor.
 */
import * as React from 'react';

import { RunsModel } from '../../model';
import { OVERSCAN, ROW_HEIGHT } from './constants';

/**
 * What {@link useVirtualRows} gives the table.
 */
export interface IVirtualRows {
  /** Attach to the scroll container. */
  scrollRef: React.RefObject<HTMLDivElement>;
  /** The first row to render (overscan included). */
  first: number;
  /** One past the last row to render. */
  last: number;
  /** The keyboard cursor's row, or null. */
  cursor: number | null;
  /** Select a row the way a click does, moving the cursor there. */
  onRowClick: (index: number, event: React.MouseEvent) => void;
  onScroll: (event: React.UIEvent<HTMLDivElement>) => void;
  /** Arrow keys move the cursor (Shift extends the selection). */
  onKeyDown: (event: React.KeyboardEvent) => void;
}

/**
 * Track the viewport, tell the model which rows are visible, and move a cursor with
 * the arrow keys; a new query starts at its first row.
 *
 * @param model - The runs model.
 * @returns Render range, cursor and event handlers.
 */
export function useVirtualRows(model: RunsModel): IVirtualRows {
  const scrollRef = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [viewport, setViewport] = React.useState(600);
  const [cursor, setCursor] = React.useState<number | null>(null);
  const total = model.total;

  React.useEffect(() => {
    const node = scrollRef.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setViewport(node.clientHeight));
    observer.observe(node);
    setViewport(node.clientHeight);
    return () => observer.disconnect();
  }, []);

  // A new query starts at its first row, without a cursor.
  const [generation, setGeneration] = React.useState(model.generation);
  if (generation !== model.generation) {
    setGeneration(model.generation);
    setScrollTop(0);
    setCursor(null);
  }
  React.useEffect(() => {
    if (scrollRef.current) {
      scrollRef.current.scrollTop = 0;
    }
  }, [model.generation]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);

  React.useEffect(() => {
    model.setVisibleRange(first, last);
  }, [model, first, last, model.generation]);

  const onRowClick = (index: number, event: React.MouseEvent): void => {
    model.select(index, { toggle: event.ctrlKey || event.metaKey, range: event.shiftKey });
    setCursor(index);
  };

  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') {
      return;
    }
    event.preventDefault();
    const step = event.key === 'ArrowDown' ? 1 : -1;
    const next = Math.min(total - 1, Math.max(0, (cursor ?? -1) + step));
    model.select(next, { toggle: false, range: event.shiftKey });
    setCursor(next);
    const node = scrollRef.current;
    if (node) {
      // Keep the cursor row visible below the sticky header.
      const top = next * ROW_HEIGHT;
      if (top < node.scrollTop) {
        node.scrollTop = top;
      } else if (top + 2 * ROW_HEIGHT > node.scrollTop + node.clientHeight) {
        node.scrollTop = top + 2 * ROW_HEIGHT - node.clientHeight;
      }
    }
  };

  const onScroll = (event: React.UIEvent<HTMLDivElement>): void =>
    setScrollTop(event.currentTarget.scrollTop);

  return { scrollRef, first, last, cursor, onRowClick, onScroll, onKeyDown };
}
