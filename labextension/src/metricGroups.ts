/**
 * The "System" group: metrics the system-metrics sampler records (`system/*`: CPU,
 * memory, disk, network, GPU, named as MLflow names them) are shown apart from the
 * model's metrics in every view, and are never a best run's metric.
 */

/** The prefix of system metrics' names. */
export const SYSTEM_PREFIX = 'system/';

/** The title of the system metrics' group. */
export const SYSTEM_GROUP = 'System';

/**
 * Whether a metric is a system metric.
 *
 * @param name - The metric name.
 * @returns True for `system/...` names.
 */
export function isSystemMetric(name: string): boolean {
  return name.startsWith(SYSTEM_PREFIX);
}

/**
 * A system metric's name inside its group (without `system/`); other names unchanged.
 *
 * @param name - The metric name.
 * @returns The short name, e.g. `cpu_utilization_percentage`.
 */
export function systemLabel(name: string): string {
  return isSystemMetric(name) ? name.slice(SYSTEM_PREFIX.length) : name;
}

/** Metric names split into the model's and the system's, each in the given order. */
export interface IMetricGroups {
  model: string[];
  system: string[];
}

/**
 * Split metric names into the model's metrics and the System group.
 *
 * @param names - Metric names, in display order.
 * @returns Both groups, each keeping the given order.
 */
export function splitMetrics(names: ReadonlyArray<string>): IMetricGroups {
  const groups: IMetricGroups = { model: [], system: [] };
  for (const name of names) {
    (isSystemMetric(name) ? groups.system : groups.model).push(name);
  }
  return groups;
}

/**
 * The metrics in display order: the model's first, then the System group.
 *
 * @param names - Metric names.
 * @returns The same names, system metrics moved last (each group keeps its order).
 */
export function modelFirst(names: ReadonlyArray<string>): string[] {
  const { model, system } = splitMetrics(names);
  return [...model, ...system];
}

/**
 * The best run of each of the model's metrics: system metrics are left out, whatever
 * the server sent (a lower CPU load is no better model).
 *
 * @param best - Metric name to the index of its best run.
 * @returns The same without system metrics.
 */
export function modelBest(best: { readonly [metric: string]: number }): {
  [metric: string]: number;
} {
  const kept: { [metric: string]: number } = {};
  for (const [name, index] of Object.entries(best)) {
    if (!isSystemMetric(name)) {
      kept[name] = index;
    }
  }
  return kept;
}
