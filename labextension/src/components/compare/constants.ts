/**
 * Class names and timings shared by the comparison's components.
 */

/** CSS class of the comparison widget's root node; its parts are `${COMPARE_CLASS}-part`. */
export const COMPARE_CLASS = 'jp-workbench-Compare';

/** How often a comparison of running runs reloads, in ms. */
export const LIVE_RELOAD_MS = 3000;

/** At most this many new points per run and poll (more are downsampled, as curves are). */
export const LIVE_POINTS = 1000;

/** A live chart grown past this many rows is fetched whole again (downsampled). */
export const LIVE_MAX_ROWS = 20000;

/**
 * Points per curve asked for to learn which metrics have curves: with 4 the server keeps
 * at least two points of any metric logged at two steps or more, and no more than 4.
 */
export const CURVE_PROBE_POINTS = 4;
