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
