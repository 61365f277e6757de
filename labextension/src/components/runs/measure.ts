/**
 * Fitting header text into a column: measured with a canvas where the browser has one,
 * estimated from the character count elsewhere (tests).
 */
import { middleEllipsis } from '../../format';

/** Average width of a header character in px, when nothing can be measured. */
const FALLBACK_CHAR_WIDTH = 7;

let context: CanvasRenderingContext2D | null | undefined;

function measurer(): CanvasRenderingContext2D | null {
  if (context === undefined) {
    context = null;
    // jsdom has no canvas (and says so on the console): estimate there.
    if (typeof navigator !== 'undefined' && !/jsdom/i.test(navigator.userAgent)) {
      context = document.createElement('canvas').getContext('2d');
      if (context) {
        const root = getComputedStyle(document.documentElement);
        const family = root.getPropertyValue('--jp-ui-font-family').trim() || 'sans-serif';
        const size = root.getPropertyValue('--jp-ui-font-size1').trim() || '13px';
        context.font = `600 ${size} ${family}`;
      }
    }
  }
  return context;
}

/**
 * The width of header text in px.
 *
 * @param text - The text.
 * @returns Its measured width, or an estimate without a canvas.
 */
export function headerTextWidth(text: string): number {
  const ctx = measurer();
  return ctx ? ctx.measureText(text).width : text.length * FALLBACK_CHAR_WIDTH;
}

/**
 * A header label that fits a width, shortened in the middle when it does not.
 *
 * @param text - The full column name.
 * @param width - The room in px.
 * @returns The text, or its start and end around `…`.
 */
export function fitLabel(text: string, width: number): string {
  if (headerTextWidth(text) <= width) {
    return text;
  }
  let lo = 1;
  let hi = text.length;
  // The longest middle-shortened form that fits (at least the ellipsis).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (headerTextWidth(middleEllipsis(text, mid)) <= width) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return middleEllipsis(text, lo);
}
