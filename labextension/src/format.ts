/**
 * Text formatting shared by the panel, the comparison and the CSV export.
 */
import { Time } from '@jupyterlab/coreutils';

/**
 * The short form of a run id used everywhere in Workbench (CLI, origins).
 *
 * @param runId - A full run id.
 * @returns Its first 8 characters.
 */
export function shortId(runId: string): string {
  return runId.slice(0, 8);
}

/**
 * A label that tells runs apart even when they share a name.
 *
 * @param run - Name and id of a run.
 * @returns `name · 3f2a1b9c`, or the short id alone for an unnamed run.
 */
export function runLabel(run: { run_name: string | null; run_id: string }): string {
  return run.run_name ? `${run.run_name} · ${shortId(run.run_id)}` : shortId(run.run_id);
}

/**
 * A relative time for table cells ("5 minutes ago").
 *
 * @param ms - Milliseconds since the epoch.
 * @returns The human form, or an empty string for null.
 */
export function formatRelative(ms: number | null): string {
  return ms === null ? '' : Time.formatHuman(new Date(ms));
}

/**
 * A full local timestamp, for tooltips and details.
 *
 * @param ms - Milliseconds since the epoch.
 * @returns Short date and time in the page's language (JupyterLab's `Time.format`, e.g.
 *   `3/5/24, 7:08 AM` in English), or an empty string for null.
 */
export function formatTimestamp(ms: number | null): string {
  return ms === null ? '' : Time.format(new Date(ms));
}

/**
 * A duration the way people read it: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
 *
 * @param seconds - The duration; null when unknown (a run still going).
 * @returns The text, or an empty string for null.
 */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const s = Math.round(seconds);
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  }
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * A run's duration from its start and end times.
 *
 * @param run - Start and end in ms since the epoch (end null while running).
 * @returns The duration in seconds, or null while running.
 */
export function durationSeconds(run: {
  start_time: number;
  end_time: number | null;
}): number | null {
  return run.end_time === null ? null : (run.end_time - run.start_time) / 1000;
}

/**
 * A metric value with enough digits to compare runs and no float noise.
 *
 * @param value - The value, or null/undefined where a run lacks it.
 * @returns Five significant digits, scientific notation for very large or small values.
 */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e15) {
    return String(value);
  }
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-4)) {
    return value.toExponential(4);
  }
  return String(Number(value.toPrecision(5)));
}

/**
 * The order_by / filter key of a param or metric, quoted when the name needs it.
 *
 * @param kind - `params` or `metrics`.
 * @param name - The name as recorded (e.g. `Ridge.alpha`, `error rate`).
 * @returns `metrics.rmse`, or ``params.`Ridge.alpha` `` for names that are not plain
 *   identifiers (MLflow's grammar takes backticks).
 */
export function searchKey(kind: 'params' | 'metrics', name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${kind}.${name}` : `${kind}.\`${name}\``;
}

/** Comparison and set operators of the search grammar; text without one is a name search. */
const FILTER_OPERATOR = /[=<>]|!=|\s(?:not\s+)?(?:i?like|in|is)\s/i;

/**
 * Whether search-box text is plain words (a run-name search) rather than a filter.
 *
 * @param text - What the user typed.
 * @returns True when it holds no comparison (`=`, `<`, `LIKE`, `IN`, ...).
 */
export function isNameSearch(text: string): boolean {
  const t = text.trim();
  return t !== '' && !FILTER_OPERATOR.test(` ${t} `);
}

/**
 * The filter the server gets for search-box text: plain words search run names
 * (`attributes.run_name ILIKE '%text%'`); anything with an operator is sent as typed.
 *
 * @param text - What the user typed.
 * @returns An MLflow search filter (empty for empty text).
 */
export function toSearchFilter(text: string): string {
  const t = text.trim();
  if (!isNameSearch(t)) {
    return t;
  }
  const quoted = t.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  return `attributes.run_name ILIKE '%${quoted}%'`;
}

/**
 * Shorten text in the middle, keeping its start and its end (where parameter names
 * differ: `GradientBoostingRegressor.learning_rate` -> `Gradient…learning_rate`).
 *
 * @param text - The full text.
 * @param maxChars - The most characters to keep, the ellipsis included.
 * @returns The text itself when short enough, else its start, `…` and its end (the end
 *   gets the larger half).
 */
export function middleEllipsis(text: string, maxChars: number): string {
  if (text.length <= maxChars) {
    return text;
  }
  if (maxChars <= 1) {
    return '…';
  }
  const keep = maxChars - 1;
  const head = Math.floor(keep / 2);
  return text.slice(0, head) + '…' + text.slice(text.length - (keep - head));
}

/**
 * The run colours, in order: Vega's `tableau10` scheme, which the server's charts use
 * (`RUN_COLOURS` in `workbench/render/charts.py`). The n-th compared run has the n-th
 * colour in the tables, the legends and every chart.
 */
export const RUN_COLOURS: ReadonlyArray<string> = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac'
];

/**
 * The colour of the run at a position among the compared (or selected) runs.
 *
 * @param index - Its position, from 0.
 * @returns A CSS colour; past 10 runs the charts use `tableau20`, so none is given.
 */
export function runColour(index: number): string | null {
  return index >= 0 && index < RUN_COLOURS.length ? RUN_COLOURS[index] : null;
}

/**
 * The parameters worth showing side by side: an autologged `Estimator.x` that repeats
 * the plain parameter `x` in every run is left out.
 *
 * @param params - Name to one value per run.
 * @param names - The candidates, in order.
 * @returns The names without autologged copies.
 */
export function distinctParams(
  params: { [name: string]: (string | null)[] },
  names: ReadonlyArray<string>
): string[] {
  const same = (a: string | null, b: string | null): boolean =>
    a === b || (a !== null && b !== null && a.trim() !== '' && Number(a) === Number(b));
  return names.filter(name => {
    const match = /^[A-Z][A-Za-z0-9_]*\.(.+)$/.exec(name);
    const plain = match ? params[match[1]] : undefined;
    return !(plain && params[name].every((v, i) => v === null || same(v, plain[i])));
  });
}
