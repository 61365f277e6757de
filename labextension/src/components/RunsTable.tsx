/**
 * The runs table: sortable headers, multi-select rows, and virtual rendering so that
 * 10,000 runs cost as much as the 40 or so rows on screen.
 */
import * as React from 'react';
import { caretDownIcon, caretUpIcon } from '@jupyterlab/ui-components';

import {
  durationSeconds,
  formatDuration,
  formatMetric,
  formatRelative,
  formatTimestamp,
  searchKey
} from '../format';
import { useSignal } from '../hooks';
import { RunsModel } from '../model';
import { IRun } from '../tokens';
import { OriginBadge, StatusBadge } from './Badges';

/** CSS class of the table (its scroll container). */
export const RUNS_TABLE_CLASS = 'jp-workbench-RunsTable';
/** CSS class of every data row; selected rows also have `jp-mod-selected`. */
export const RUNS_ROW_CLASS = 'jp-workbench-RunsTable-row';
const HEADER_CLASS = 'jp-workbench-RunsTable-header';
const BODY_CLASS = 'jp-workbench-RunsTable-body';
const CELL_CLASS = 'jp-workbench-RunsTable-cell';

/** Height of a row in px; fixed so a row's position is index * height (virtualization). */
export const ROW_HEIGHT = 26;
/** Rows rendered above and below the viewport so fast scrolling shows no gaps. */
const OVERSCAN = 10;

interface IColumn {
  id: string;
  label: string;
  width: number;
  /** The order_by key, or null when the server cannot sort by this column. */
  sortKey: string | null;
  numeric?: boolean;
  render: (run: IRun) => React.ReactNode;
  title: (run: IRun) => string;
}

/** Metrics come right after the name: they are what people scan a narrow panel for. */
function buildColumns(params: ReadonlyArray<string>, metrics: ReadonlyArray<string>): IColumn[] {
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
    ...metrics.map(
      (name): IColumn => ({
        id: `metrics.${name}`,
        label: name,
        width: 90,
        sortKey: searchKey('metrics', name),
        numeric: true,
        render: run => formatMetric(run.metrics[name]),
        title: run => `${name} = ${run.metrics[name] ?? '(not logged)'}`
      })
    ),
    ...params.map(
      (name): IColumn => ({
        id: `params.${name}`,
        label: name,
        width: 90,
        sortKey: searchKey('params', name),
        render: run => run.params[name] ?? '',
        title: run => `${name} = ${run.params[name] ?? '(not set)'}`
      })
    ),
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
}

/**
 * Props of {@link RunsTable}.
 */
export interface IRunsTableProps {
  model: RunsModel;
  /** Called on a double click (e.g. to rerun or open details). */
  onActivate?: (run: IRun) => void;
}

/**
 * The virtualized, sortable, multi-select runs table.
 *
 * @param props - The model and callbacks.
 * @returns The table element.
 */
export function RunsTable(props: IRunsTableProps): JSX.Element {
  const { model } = props;
  useSignal(model.changed);
  const scrollRef = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [viewport, setViewport] = React.useState(600);
  const [cursor, setCursor] = React.useState<number | null>(null);

  React.useEffect(() => {
    const node = scrollRef.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setViewport(node.clientHeight));
    observer.observe(node);
    setViewport(node.clientHeight);
    return () => observer.disconnect();
  }, []);

  // A new query starts at its first row.
  React.useEffect(() => {
    if (scrollRef.current) {
      scrollRef.current.scrollTop = 0;
    }
    setScrollTop(0);
    setCursor(null);
  }, [model.generation]);

  const total = model.total;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);

  React.useEffect(() => {
    model.setVisibleRange(first, last);
  }, [model, first, last, model.generation]);

  const columns = buildColumns(model.visibleParams, model.visibleMetrics);
  const width = columns.reduce((sum, c) => sum + c.width, 0);
  const sort = model.sort;

  const onRowClick = (index: number, event: React.MouseEvent): void => {
    model.select(index, { toggle: event.ctrlKey || event.metaKey, range: event.shiftKey });
    setCursor(index);
  };

  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') {
      return;
    }
    event.preventDefault();
    const next = Math.min(
      total - 1,
      Math.max(0, (cursor ?? -1) + (event.key === 'ArrowDown' ? 1 : -1))
    );
    model.select(next, { toggle: false, range: event.shiftKey });
    setCursor(next);
    const node = scrollRef.current;
    if (node) {
      // Keep the cursor row visible below the sticky header.
      const top = next * ROW_HEIGHT;
      if (top < node.scrollTop) {
        node.scrollTop = top;
      } else if (top + 2 * ROW_HEIGHT > node.scrollTop + node.clientHeight) {
        node.scrollTop = top + 2 * ROW_HEIGHT - node.clientHeight;
      }
    }
  };

  const rows: JSX.Element[] = [];
  for (let index = first; index < last; index++) {
    const run = model.runAt(index);
    const style = { transform: `translateY(${index * ROW_HEIGHT}px)`, width };
    if (!run) {
      rows.push(
        <div key={`pending-${index}`} className={`${RUNS_ROW_CLASS} jp-mod-pending`} style={style}>
          <div className={CELL_CLASS}>…</div>
        </div>
      );
      continue;
    }
    const selected = model.isSelected(run.run_id);
    const classes = [RUNS_ROW_CLASS];
    if (selected) {
      classes.push('jp-mod-selected');
    }
    if (index === cursor) {
      classes.push('jp-mod-cursor');
    }
    if (run.deleted) {
      classes.push('jp-mod-deleted');
    }
    rows.push(
      <div
        key={run.run_id}
        role="row"
        aria-selected={selected}
        aria-rowindex={index + 2}
        className={classes.join(' ')}
        data-run-id={run.run_id}
        style={style}
        onMouseDown={event => {
          // Shift-click would otherwise select the text between the two rows.
          if (event.shiftKey) {
            event.preventDefault();
          }
        }}
        onClick={event => onRowClick(index, event)}
        onDoubleClick={() => props.onActivate?.(run)}
      >
        {columns.map(column => (
          <div
            key={column.id}
            role="gridcell"
            className={`${CELL_CLASS}${column.numeric ? ' jp-mod-numeric' : ''}`}
            style={{ width: column.width }}
            title={column.title(run)}
          >
            {column.render(run)}
          </div>
        ))}
      </div>
    );
  }

  return (
    <div
      ref={scrollRef}
      className={RUNS_TABLE_CLASS}
      role="grid"
      aria-rowcount={total + 1}
      aria-multiselectable={true}
      tabIndex={0}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div className={HEADER_CLASS} role="row" style={{ width }}>
        {columns.map(column => {
          const active = sort !== null && column.sortKey === sort.key;
          const Icon = active && sort?.direction === 'DESC' ? caretDownIcon : caretUpIcon;
          return (
            <div
              key={column.id}
              role="columnheader"
              aria-sort={active ? (sort?.direction === 'ASC' ? 'ascending' : 'descending') : 'none'}
              className={`${CELL_CLASS}${column.sortKey ? ' jp-mod-sortable' : ''}${
                active ? ' jp-mod-sorted' : ''
              }${column.numeric ? ' jp-mod-numeric' : ''}`}
              data-sort-key={column.sortKey ?? undefined}
              style={{ width: column.width }}
              title={column.sortKey ? `Sort by ${column.sortKey}` : column.label}
              onClick={() => {
                if (column.sortKey) {
                  void model.toggleSort(column.sortKey);
                }
              }}
            >
              <span className="jp-workbench-RunsTable-label">{column.label}</span>
              {active && <Icon.react tag="span" className="jp-workbench-RunsTable-sortIcon" />}
            </div>
          );
        })}
      </div>
      <div className={BODY_CLASS} style={{ height: total * ROW_HEIGHT, width }}>
        {rows}
      </div>
      {model.isLoaded && total === 0 && (
        <div className="jp-workbench-RunsTable-empty">
          {model.query.filter || model.query.experiment
            ? 'No runs match.'
            : 'No runs yet. Run a cell with %%track (after %load_ext workbench) to record one.'}
        </div>
      )}
      {!model.isLoaded && <div className="jp-workbench-RunsTable-empty">Loading runs…</div>}
    </div>
  );
}
