/**
 * Live runs in the comparison: which runs to poll, where each chart's curves end, and
 * which of the server's new points to add. Pure functions, apart from React and Vega.
 */
import { ICompareReply, IMetricSeries } from './tokens';

/** One row of a curves chart's data, as the server's spec holds them. */
export interface ICurveRow {
  /** The run's legend label. */
  run: string;
  key: string;
  step: number;
  value: number;
}

/**
 * The runs a comparison polls after an answer: those running now, and those that were
 * running at the answer before (their last points landed before they finished). A run
 * that was already finished is never polled.
 *
 * @param before - The previous answer, or null for the first.
 * @param now - The latest answer.
 * @returns The run ids, in the comparison's order.
 */
export function liveRunIds(before: ICompareReply | null, now: ICompareReply): string[] {
  const wasRunning = new Set(
    (before?.runs ?? []).filter(r => r.status === 'running').map(r => r.run_id)
  );
  return now.runs
    .filter(r => r.status === 'running' || wasRunning.has(r.run_id))
    .map(r => r.run_id);
}

/**
 * The last step drawn of each run of a curves chart.
 *
 * @param rows - The chart's data rows.
 * @returns Legend label to its highest step.
 */
export function lastSteps(rows: ReadonlyArray<Partial<ICurveRow>>): Map<string, number> {
  const last = new Map<string, number>();
  for (const row of rows) {
    if (typeof row.run === 'string' && typeof row.step === 'number') {
      const seen = last.get(row.run);
      if (seen === undefined || row.step > seen) {
        last.set(row.run, row.step);
      }
    }
  }
  return last;
}

/**
 * The `after_step` cursors of the polled runs: each run's last step drawn, null for a
 * run with no point yet (all of its points are new).
 *
 * @param polled - The run ids to poll.
 * @param labelOf - A run id's legend label in the chart.
 * @param last - From {@link lastSteps}.
 * @returns One cursor per polled run.
 */
export function cursors(
  polled: ReadonlyArray<string>,
  labelOf: (runId: string) => string | undefined,
  last: ReadonlyMap<string, number>
): (number | null)[] {
  return polled.map(id => {
    const label = labelOf(id);
    return label === undefined ? null : (last.get(label) ?? null);
  });
}

/**
 * The rows to add to a chart: the server's new points, past what the chart holds now
 * (an answer that arrives twice adds nothing the second time).
 *
 * @param series - The server's series after the cursors.
 * @param labelOf - A run id's legend label in the chart; runs without one are skipped.
 * @param last - From {@link lastSteps}, read when the answer arrived.
 * @returns The rows, in the server's order.
 */
export function rowsToAdd(
  series: ReadonlyArray<IMetricSeries>,
  labelOf: (runId: string) => string | undefined,
  last: ReadonlyMap<string, number>
): ICurveRow[] {
  const rows: ICurveRow[] = [];
  for (const s of series) {
    const label = labelOf(s.run_id);
    if (label === undefined) {
      continue;
    }
    const after = last.get(label);
    s.steps.forEach((step, i) => {
      if (after === undefined || step > after) {
        rows.push({ run: label, key: s.key, step, value: s.values[i] });
      }
    });
  }
  return rows;
}

/**
 * The legend labels of a curves spec's runs, in the order the runs were asked for (the
 * colour scale's domain), or null when the spec has none.
 *
 * @param spec - The server's Vega-Lite spec.
 * @returns The labels.
 */
export function specDomain(spec: unknown): string[] | null {
  const encoding = (spec as { encoding?: { color?: { scale?: { domain?: unknown } } } })?.encoding;
  const domain = encoding?.color?.scale?.domain;
  return Array.isArray(domain) && domain.every(d => typeof d === 'string') ? domain : null;
}
