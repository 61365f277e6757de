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
  render: (run: IRun) => React.ReactNode;
  title: (run: IRun) => string;
}

/**
 * The columns for the chosen params and metrics. Metrics come right after the name:
 * they are what people scan a narrow panel for.
 *
 * @param params - The param columns shown.
 * @param metrics - The metric columns shown.
 * @returns Status, name, metrics, params, origin, start and duration.
 */
export function buildColumns(
  params: ReadonlyArray<string>,
  metrics: ReadonlyArray<string>
): IColumn[] {
  return [
    {
      id: 'status',
      label: 'Status',
      width: 74,
      sortKey: 'attributes.status',
      render: run => <StatusBadge status={run.status} />,
      title: run => run.status
    },
    {
      id: 'name',
      label: 'Run',
      width: 140,
      sortKey: 'attributes.run_name',
      render: run => run.run_name || run.run_id.slice(0, 8),
      title: run => `${run.run_name}\n${run.run_id}\nexperiment: ${run.experiment}`
    },
    ...metrics.map((name): IColumn => ({
      id: `metrics.${name}`,
      label: name,
      width: 90,
      sortKey: searchKey('metrics', name),
      numeric: true,
      render: run => formatMetric(run.metrics[name]),
      title: run => `${name} = ${run.metrics[name] ?? '(not logged)'}`
    })),
    ...params.map((name): IColumn => ({
      id: `params.${name}`,
      label: name,
      width: 90,
      sortKey: searchKey('params', name),
      render: run => run.params[name] ?? '',
      title: run => `${name} = ${run.params[name] ?? '(not set)'}`
    })),
    ...TRAILING_COLUMNS
  ];
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
