/**
 * The width of an element, rounded to steps so a dragged panel refetches charts a few
 * times, not once per pixel.
 */
import * as React from 'react';

/**
 * Measure an element's content width.
 *
 * @param step - Round down to a multiple of this many px.
 * @returns A ref to attach, the width (0 when unknown) and whether it was measured.
 */
export function useWidth(step = 50): [React.RefObject<HTMLDivElement>, number, boolean] {
  const ref = React.useRef<HTMLDivElement>(null);
  const [width, setWidth] = React.useState(0);
  const [measured, setMeasured] = React.useState(false);
  React.useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const measure = (): void => {
      setWidth(Math.floor(node.clientWidth / step) * step);
      setMeasured(true);
    };
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    measure();
    return () => observer.disconnect();
  }, [step]);
  return [ref, width, measured];
}
