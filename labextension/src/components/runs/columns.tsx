/**
 * The runs table's columns: what each shows, its width, tooltip and sort key.
 */
import * as React from 'react';

import {
  durationSeconds,
  formatDuration,
  formatMetric,
  formatRelative,
  formatTimestamp,
  searchKey
} from '../../format';
import { isSystemMetric, SYSTEM_GROUP, systemLabel } from '../../metricGroups';
import { IRun } from '../../tokens';
import { OriginBadge, StatusBadge } from '../Badges';

/**
 * One column of the runs table.
 */
export interface IColumn {
  id: string;
  label: string;
  /** Width in px (cells are absolutely sized so rows line up without a `<table>`). */
  width: number;
  /** The order_by key, or null when the server cannot sort by this column. */
  sortKey: string | null;
  numeric?: boolean;
  /** What the header's tooltip says about the column, beyond its name. */
  description?: string;
  /** `system` for a system metric: shown in the System group, after the parameters. */
  group?: 'system';
  render: (run: IRun) => React.ReactNode;
  title: (run: IRun) => string;
}

/** Options of {@link buildColumns}. */
export interface IBuildColumnsOptions {
  /** A width the user chose for a column id, else undefined. */
  width?: (id: string) => number | undefined;
  /** Param names that were swept or tuned (their tooltip says so). */
  swept?: ReadonlySet<string>;
  /** Metric names logged by fewer than all runs, with how many have them. */
  coverage?: ReadonlyMap<string, string>;
  /** A selected run's colour in the comparison (its position in the selection), if any. */
  colour?: (runId: string) => string | null;
  /** The registry aliases a run's model holds (`diabetes@champion`). */
  aliases?: (runId: string) => ReadonlyArray<string>;
}

/** Default width of a metric column, in px: room for `12345.6` or a short name. */
export const VALUE_COLUMN_WIDTH = 76;
/** Default width of a parameter column: names like `learning_rate` fit whole. */
export const PARAM_COLUMN_WIDTH = 104;

/**
 * The columns for the chosen params and metrics. Metrics come right after the name:
 * they are what people scan a narrow panel for.
 *
 * @param params - The param columns shown.
 * @param metrics - The metric columns shown.
 * @param options - Widths chosen by the user and what the tooltips say.
 * @returns Status, name, metrics, params, origin, start and duration.
 */
export function buildColumns(
  params: ReadonlyArray<string>,
  metrics: ReadonlyArray<string>,
  options: IBuildColumnsOptions = {}
): IColumn[] {
  const widthOf = (id: string, fallback: number): number => options.width?.(id) ?? fallback;
  const columns: IColumn[] = [
    {
      id: 'status',
      label: 'Status',
      width: 72,
      sortKey: 'attributes.status',
      render: run => <StatusBadge status={run.status} />,
      title: run => run.status
    },
    {
      id: 'name',
      label: 'Run',
      width: 132,
      sortKey: 'attributes.run_name',
      render: run => {
        const colour = options.colour?.(run.run_id);
        return (
          <>
            {colour && (
              <span
                className="jp-workbench-RunSwatch"
                style={{ background: colour }}
                title="Its colour in the comparison's charts"
              />
            )}
            {run.run_name || run.run_id.slice(0, 8)}
            {options.aliases?.(run.run_id).map(a => (
              <span key={a} className="jp-workbench-AliasBadge" title={`registered as ${a}`}>
                @{a.split('@')[1]}
              </span>
            ))}
          </>
        );
      },
      title: run => `${run.run_name}\n${run.run_id}\nexperiment: ${run.experiment}`
    },
    ...metrics.filter(name => !isSystemMetric(name)).map(name => metricColumn(name, options)),
    ...params.map((name): IColumn => ({
      id: `params.${name}`,
      label: name,
      width: PARAM_COLUMN_WIDTH,
      sortKey: searchKey('params', name),
      description: options.swept?.has(name) ? 'parameter, swept' : 'parameter',
      render: run => run.params[name] ?? '',
      title: run => `${name} = ${run.params[name] ?? '(not set)'}`
    })),
    // System metrics (CPU, memory, GPU) apart from the model's, after the parameters.
    ...metrics.filter(isSystemMetric).map(name => metricColumn(name, options)),
    ...TRAILING_COLUMNS
  ];
  return columns.map(c => ({ ...c, width: widthOf(c.id, c.width) }));
}

/** A metric's column; a system metric's is in the System group, named without `system/`. */
function metricColumn(name: string, options: IBuildColumnsOptions): IColumn {
  const system = isSystemMetric(name);
  return {
    id: `metrics.${name}`,
    label: systemLabel(name),
    width: VALUE_COLUMN_WIDTH,
    sortKey: searchKey('metrics', name),
    numeric: true,
    description: `${system ? `${SYSTEM_GROUP}: ${name}, a system ` : ''}metric${
      options.coverage?.get(name) ?? ''
    }`,
    group: system ? 'system' : undefined,
    render: run => formatMetric(run.metrics[name]),
    title: run => `${name} = ${run.metrics[name] ?? '(not logged)'}`
  };
}

const TRAILING_COLUMNS: IColumn[] = [
  {
    id: 'origin',
    label: 'Origin',
    width: 118,
    sortKey: null,
    render: run => <OriginBadge origin={run.origin} />,
    title: run => run.origin
  },
  {
    id: 'start',
    label: 'Started',
    width: 110,
    sortKey: 'attributes.start_time',
    render: run => formatRelative(run.start_time),
    title: run => formatTimestamp(run.start_time)
  },
  {
    id: 'duration',
    label: 'Duration',
    width: 84,
    sortKey: null,
    numeric: true,
    render: run => formatDuration(durationSeconds(run)),
    title: run => (run.end_time === null ? 'still running' : '')
  }
];
