/**
 * Class names and timings shared by the comparison's components.
 */

/** CSS class of the comparison widget's root node; its parts are `${COMPARE_CLASS}-part`. */
export const COMPARE_CLASS = 'jp-workbench-Compare';

/** How often a comparison of running runs reloads, in ms. */
export const LIVE_RELOAD_MS = 3000;

/**
 * Points per curve asked for to learn which metrics have curves: with 4 the server keeps
 * at least two points of any metric logged at two steps or more, and no more than 4.
 */
export const CURVE_PROBE_POINTS = 4;
