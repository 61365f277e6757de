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
import { cellTextWidth, fitLabel } from './measure';

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
  /** The Run column's width unless the user chose one (see {@link nameColumnWidth}). */
  nameWidth?: number;
}

/** Default width of a metric column, in px: room for `12345.6` or a short name. */
export const VALUE_COLUMN_WIDTH = 76;
/** Default width of a parameter column: names like `learning_rate` fit whole. */
export const PARAM_COLUMN_WIDTH = 104;
/** The Run column's narrowest and widest default width, in px. The widest still leaves
 * the first metric on screen at the sidebar's default width. */
export const NAME_COLUMN_MIN = 132;
export const NAME_COLUMN_MAX = 208;
/** A cell's horizontal padding (`.jp-workbench-RunsTable-cell`), in px. */
const CELL_PADDING = 12;
/** The room a chart-colour swatch takes before a name (9 px and a 4 px margin). */
const SWATCH_WIDTH = 13;
/** An alias badge's padding, border and margin beside its text, in px. */
const BADGE_EXTRA = 16;
/** The narrowest an alias badge gets beside a long name (`@c…`), in px. */
const BADGE_MIN = 40;

/** A run's label in the Run column: its name and its models' alias badges. */
export interface IRunLabel {
  name: string;
  badges: ReadonlyArray<string>;
}

function labelWidth(label: IRunLabel): number {
  return label.badges.reduce(
    (sum, b) => sum + cellTextWidth(b) + BADGE_EXTRA,
    cellTextWidth(label.name)
  );
}

/**
 * The Run column's default width: as wide as the widest of `labels` (the runs loaded
 * first, with their alias badges), between {@link NAME_COLUMN_MIN} and
 * {@link NAME_COLUMN_MAX}.
 *
 * @param labels - Run names and badges.
 * @returns A width in px.
 */
export function nameColumnWidth(labels: ReadonlyArray<IRunLabel>): number {
  let widest = 0;
  for (const label of labels) {
    widest = Math.max(widest, labelWidth(label));
  }
  const wanted = Math.ceil(widest) + CELL_PADDING + SWATCH_WIDTH;
  return Math.min(NAME_COLUMN_MAX, Math.max(NAME_COLUMN_MIN, wanted));
}

/**
 * A run's name fitted to its cell: shortened in the middle, so that the end (the number
 * of `calm-crane-690`, the value of `ridge-alpha-0.01`) that tells runs apart stays.
 *
 * @param name - The run's name.
 * @param room - The cell's width for text, in px.
 * @returns The name, or its start and end around `…`.
 */
export function fitRunName(name: string, room: number): string {
  return fitLabel(name, room, cellTextWidth);
}

/**
 * A run's name and badges fitted to the room of its cell. The name comes first: badges
 * shrink (down to `@c…`) before it is shortened, in the middle.
 *
 * @param label - The name and badge texts.
 * @param room - The cell's width for them, in px.
 * @returns The texts to show.
 */
export function fitRunLabel(label: IRunLabel, room: number): IRunLabel {
  const n = label.badges.length;
  if (labelWidth(label) <= room) {
    return label;
  }
  const badgesWidth = labelWidth({ name: '', badges: label.badges });
  const nameRoom = Math.max(room - badgesWidth, room - n * BADGE_MIN);
  const name = fitRunName(label.name, nameRoom);
  const each = n ? (room - cellTextWidth(name)) / n - BADGE_EXTRA : 0;
  return { name, badges: label.badges.map(b => fitStart(b, each)) };
}

/** `text`, or its longest start and `…` that fits `room` (an alias reads from its start). */
function fitStart(text: string, room: number): string {
  for (let n = text.length; n > 1; n--) {
    const shown = n === text.length ? text : `${text.slice(0, n - 1)}…`;
    if (cellTextWidth(shown) <= room) {
      return shown;
    }
  }
  return `${text.slice(0, 1)}…`;
}

/** The Run cell: the colour swatch (selected runs), the name, the alias badges. */
function NameCell(props: {
  run: IRun;
  width: number;
  colour: string | null | undefined;
  aliases: ReadonlyArray<string>;
}): JSX.Element {
  const { run, colour, aliases } = props;
  const badges = aliases.map(a => `@${a.split('@')[1]}`);
  const room = props.width - CELL_PADDING - (colour ? SWATCH_WIDTH : 0);
  const shown = fitRunLabel({ name: run.run_name || run.run_id.slice(0, 8), badges }, room);
  return (
    <>
      {colour && (
        <span
          className="jp-workbench-RunSwatch"
          style={{ background: colour }}
          title="Its colour in the comparison's charts"
        />
      )}
      <span className="jp-workbench-RunsTable-name">{shown.name}</span>
      {aliases.map((a, i) => (
        <span key={a} className="jp-workbench-AliasBadge" title={`registered as ${a}`}>
          {shown.badges[i]}
        </span>
      ))}
    </>
  );
}

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
  const nameWidth = widthOf('name', options.nameWidth ?? NAME_COLUMN_MIN);
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
      width: nameWidth,
      sortKey: 'attributes.run_name',
      render: run => (
        <NameCell
          run={run}
          width={nameWidth}
          colour={options.colour?.(run.run_id)}
          aliases={options.aliases?.(run.run_id) ?? []}
        />
      ),
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
