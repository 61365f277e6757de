/**
 * Fetching everything a comparison shows, as one request.
 */
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

async function fetchComparison(runIds: ReadonlyArray<string>): Promise<IComparison> {
  const [data, details, curves] = await Promise.all([
    compareRuns(runIds),
    Promise.all(runIds.map(id => getRun(id).catch(unlessBusy(() => null)))),
    getMetrics(runIds, undefined, CURVE_PROBE_POINTS).then(
      reply => ({ curveKeys: curveKeys(reply.series), curvesError: null }),
      unlessBusy(reason => ({ curveKeys: null, curvesError: errorMessage(reason) }))
    )
  ]);
  return { data, details, ...curves };
}

/**
 * Fetch the comparison, each run's detail and the names of the metrics with curves;
 * the last answer stays while a reload is in flight.
 *
 * @param runIds - The compared runs.
 * @param version - Changes to reload (live comparisons, the Reload button).
 * @returns The request's state (see {@link useRequest}).
 */
export function useComparison(
  runIds: ReadonlyArray<string>,
  version: number
): IRequestState<IComparison> {
  return useRequest(runIds.join(','), () => fetchComparison(runIds), version);
}
