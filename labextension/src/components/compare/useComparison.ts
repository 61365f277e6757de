/**
 * Fetching everything a comparison shows, as one request.
 */
import { useRef } from 'react';

import { compareRuns, errorMessage, getMetrics, getRun, StoreBusyError } from '../../api';
import { IRequestState, useRequest } from '../../hooks';
import { ICompareReply, IMetricSeries, IRunDetail } from '../../tokens';
import { CURVE_PROBE_POINTS } from './constants';

/** What a comparison shows besides its charts. */
export interface IComparison {
  data: ICompareReply;
  /** One detail per run; null where it could not be loaded. */
  details: (IRunDetail | null)[];
  /** The metrics logged at more than one step (they get curves), sorted. */
  curveKeys: string[] | null;
  /** Why the curves could not be listed, else null. */
  curvesError: string | null;
}

/**
 * The metrics that have curves: a metric logged once per run is a final value, which
 * the metrics table shows better.
 *
 * @param series - Curves of the runs (a few points each are enough).
 * @returns The metric names with a curve of two points or more, sorted.
 */
export function curveKeys(series: ReadonlyArray<IMetricSeries>): string[] {
  const keys = new Set(series.filter(s => s.steps.length > 1).map(s => s.key));
  return [...keys].sort();
}

/** A busy store fails the whole comparison, so it is retried as one. */
function unlessBusy<T>(fallback: (reason: unknown) => T): (reason: unknown) => T {
  return reason => {
    if (reason instanceof StoreBusyError) {
      throw reason;
    }
    return fallback(reason);
  };
}

/**
 * Everything a comparison shows. Given the previous answer (a live reload), each run's
 * detail and curve names are fetched again only for runs that were still running:
 * a finished run is not asked about again.
 */
async function fetchComparison(
  runIds: ReadonlyArray<string>,
  previous: IComparison | null
): Promise<IComparison> {
  const stale = runIds.map(
    (_, i) =>
      previous === null ||
      previous.details[i] === null ||
      previous.data.runs[i]?.status === 'running'
  );
  const probed = runIds.filter((_, i) => stale[i]);
  const [data, details, curves] = await Promise.all([
    compareRuns(runIds),
    Promise.all(
      runIds.map((id, i) =>
        stale[i] ? getRun(id).catch(unlessBusy(() => null)) : (previous?.details[i] ?? null)
      )
    ),
    probed.length === 0 && previous
      ? { curveKeys: previous.curveKeys, curvesError: previous.curvesError }
      : getMetrics(probed, undefined, CURVE_PROBE_POINTS).then(
          reply => ({
            curveKeys: mergeKeys(previous?.curveKeys ?? null, curveKeys(reply.series)),
            curvesError: null
          }),
          unlessBusy(reason => ({ curveKeys: null, curvesError: errorMessage(reason) }))
        )
  ]);
  return { data, details, ...curves };
}

function mergeKeys(before: string[] | null, found: string[]): string[] {
  return [...new Set([...(before ?? []), ...found])].sort();
}

/**
 * Fetch the comparison, each run's detail and the names of the metrics with curves;
 * the last answer stays while a reload is in flight.
 *
 * @param runIds - The compared runs.
 * @param version - Changes to reload (live comparisons, the Reload button).
 * @param reloads - Changes on the Reload button only: everything is fetched again, not
 *   just what concerns the runs still running.
 * @returns The request's state (see {@link useRequest}).
 */
export function useComparison(
  runIds: ReadonlyArray<string>,
  version: number,
  reloads = 0
): IRequestState<IComparison> {
  const key = runIds.join(',');
  const last = useRef<{ key: string; reloads: number; value: IComparison } | null>(null);
  return useRequest(
    key,
    async () => {
      const before = last.current;
      const previous =
        before && before.key === key && before.reloads === reloads ? before.value : null;
      const value = await fetchComparison(runIds, previous);
      last.current = { key, reloads, value };
      return value;
    },
    version
  );
}
