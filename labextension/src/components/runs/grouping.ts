/**
 * Grouping the runs table: by experiment, by sweep or tuning study, or by a parameter's
 * value; each group with its count and the best value of the sort metric.
 */
import { isSystemMetric } from '../../metricGroups';
import { IRun } from '../../tokens';

/** What the table groups by: nothing, `experiment`, `sweep`, or `param:<name>`. */
export type GroupBy = '' | 'experiment' | 'sweep' | `param:${string}`;

/** One group of runs. */
export interface IRunGroup {
  /** The grouping value (`''` for runs without one). */
  key: string;
  /** What the header shows. */
  label: string;
  runs: IRun[];
  /** The best value of the metric in the group, or null. */
  best: number | null;
}

// Metric names where a higher value is better (as `higher_is_better` on the server).
const HIGHER_IS_BETTER =
  /(^|[_.-])(r2|acc|accuracy|auc|f1|precision|recall|score|map|ndcg|iou)($|[_.\-@])/i;

/**
 * Whether a larger value of a metric is better, judged from its name.
 *
 * @param metric - The metric name.
 * @returns True for r2, accuracy, auc and the like.
 */
export function higherIsBetter(metric: string): boolean {
  return HIGHER_IS_BETTER.test(metric);
}

/** Tags of runs started together: a sweep, a tuning study. */
const SWEEP_TAGS = ['sweep_id', 'tune_id', 'study'];

function groupKey(run: IRun, by: GroupBy): [string, string] {
  if (by === 'experiment') {
    return [run.experiment, run.experiment];
  }
  if (by === 'sweep') {
    for (const tag of SWEEP_TAGS) {
      const value = run.tags?.[tag];
      if (value) {
        return [`${tag}:${value}`, `${tag === 'sweep_id' ? 'sweep' : tag} ${value.slice(0, 8)}`];
      }
    }
    return ['', 'not in a sweep'];
  }
  const name = by.slice('param:'.length);
  const value = run.params[name];
  return value === undefined ? ['', `${name} not set`] : [value, `${name} = ${value}`];
}

/**
 * Split runs into groups, in the order their first run appears (the table's order).
 *
 * @param runs - The runs, in table order.
 * @param by - What to group by.
 * @param metric - The metric whose best value each group shows, or null (a system
 *   metric shows none).
 * @param direction - The table's sort direction on that metric (ASC: lowest is best);
 *   without one, judged from the metric's name.
 * @returns The groups.
 */
export function groupRuns(
  runs: ReadonlyArray<IRun>,
  by: GroupBy,
  metric: string | null,
  direction?: 'ASC' | 'DESC'
): IRunGroup[] {
  const groups = new Map<string, IRunGroup>();
  for (const run of runs) {
    const [key, label] = groupKey(run, by);
    let group = groups.get(key);
    if (!group) {
      group = { key, label, runs: [], best: null };
      groups.set(key, group);
    }
    group.runs.push(run);
  }
  const higher = direction ? direction === 'DESC' : metric !== null && higherIsBetter(metric);
  for (const group of groups.values()) {
    if (metric === null || isSystemMetric(metric)) {
      continue; // A system metric (CPU load, memory) has no best run.
    }
    for (const run of group.runs) {
      const v = run.metrics[metric];
      if (
        typeof v === 'number' &&
        (group.best === null || (higher ? v > group.best : v < group.best))
      ) {
        group.best = v;
      }
    }
  }
  return [...groups.values()];
}
