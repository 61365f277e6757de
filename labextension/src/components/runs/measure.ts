/**
 * Fitting header text into a column: measured with a canvas where the browser has one,
 * estimated from the character count elsewhere (tests).
 */
import { middleEllipsis } from '../../format';

/** Average width of a header character in px, when nothing can be measured. */
const FALLBACK_CHAR_WIDTH = 7;

const contexts = new Map<string, CanvasRenderingContext2D | null>();

function measurer(weight: string): CanvasRenderingContext2D | null {
  let context = contexts.get(weight);
  if (context === undefined) {
    context = null;
    // jsdom has no canvas (and says so on the console): estimate there.
    if (typeof navigator !== 'undefined' && !/jsdom/i.test(navigator.userAgent)) {
      context = document.createElement('canvas').getContext('2d');
      if (context) {
        const root = getComputedStyle(document.documentElement);
        const family = root.getPropertyValue('--jp-ui-font-family').trim() || 'sans-serif';
        const size = root.getPropertyValue('--jp-ui-font-size1').trim() || '13px';
        context.font = `${weight} ${size} ${family}`;
      }
    }
    contexts.set(weight, context);
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
  const ctx = measurer('600');
  return ctx ? ctx.measureText(text).width : text.length * FALLBACK_CHAR_WIDTH;
}

/**
 * The width of a cell's text (regular weight) in px.
 *
 * @param text - The text.
 * @returns Its measured width, or an estimate without a canvas.
 */
export function cellTextWidth(text: string): number {
  const ctx = measurer('400');
  return ctx ? ctx.measureText(text).width : text.length * FALLBACK_CHAR_WIDTH;
}

/**
 * A header label that fits a width, shortened in the middle when it does not.
 *
 * @param text - The full column name.
 * @param width - The room in px.
 * @param measure - How wide a text is (header text by default).
 * @returns The text, or its start and end around `…`.
 */
export function fitLabel(text: string, width: number, measure = headerTextWidth): string {
  if (measure(text) <= width) {
    return text;
  }
  let lo = 1;
  let hi = text.length;
  // The longest middle-shortened form that fits (at least the ellipsis).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(middleEllipsis(text, mid)) <= width) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return middleEllipsis(text, lo);
}
