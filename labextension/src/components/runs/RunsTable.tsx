/**
 * The runs table: sortable headers, multi-select rows, and virtual rendering so that
 * 10,000 runs cost as much as the 40 or so rows on screen.
 */
import * as React from 'react';

import { runColour } from '../../format';
import { useSignal } from '../../hooks';
import { RunsModel } from '../../model';
import { IRun } from '../../tokens';
import { buildColumns, IColumn, IRunLabel, nameColumnWidth } from './columns';
import { GroupedRows } from './GroupedTable';
import { ROW_HEIGHT, RUNS_TABLE_CLASS } from './constants';
import { RunRow } from './RunRow';
import { RunsTableHeader } from './RunsTableHeader';
import { useVirtualRows } from './useVirtualRows';

const BODY_CLASS = 'jp-workbench-RunsTable-body';
const EMPTY_CLASS = 'jp-workbench-RunsTable-empty';

/**
 * Props of {@link RunsTable}.
 */
export interface IRunsTableProps {
  model: RunsModel;
  /** Called on a double click (e.g. to rerun or open details). */
  onActivate?: (run: IRun) => void;
}

/** How many of the first runs the Run column's default width is fitted to. */
const NAME_SAMPLE = 50;

/**
 * The table's columns: the model's choice, widths and what the tooltips say.
 *
 * @param model - The runs model.
 * @returns The columns, in order.
 */
function useColumns(model: RunsModel): IColumn[] {
  const summary = model.columnSummary;
  const swept = React.useMemo(
    () => new Set(summary?.params.filter(p => p.swept).map(p => p.name) ?? []),
    [summary]
  );
  const coverage = React.useMemo(
    () =>
      new Map(
        (summary?.metrics ?? [])
          .filter(m => m.runs < summary!.total)
          .map(m => [m.name, `, logged by ${m.runs} of ${summary!.total} runs`])
      ),
    [summary]
  );
  // Fitted to the names of the first runs loaded, so it does not change while scrolling.
  const labels: IRunLabel[] = [];
  for (let i = 0; i < Math.min(model.total, NAME_SAMPLE); i++) {
    const run = model.runAt(i);
    if (run) {
      const badges = model.aliasesOf(run.run_id).map(a => `@${a.split('@')[1]}`);
      labels.push({ name: run.run_name || run.run_id.slice(0, 8), badges });
    }
  }
  const labelsKey = JSON.stringify(labels);
  const nameWidth = React.useMemo(
    () => nameColumnWidth(JSON.parse(labelsKey) as IRunLabel[]),
    [labelsKey]
  );
  return buildColumns(model.visibleParams, model.visibleMetrics, {
    width: id => model.columnWidth(id),
    nameWidth,
    swept,
    coverage,
    // The comparison colours runs in selection order, from the first selected.
    colour: id => (model.selection.length > 1 ? runColour(model.selection.indexOf(id)) : null),
    aliases: id => model.aliasesOf(id)
  });
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
  const { scrollRef, first, last, cursor, onRowClick, onScroll, onKeyDown } = useVirtualRows(model);
  const total = model.total;
  const columns = useColumns(model);
  const width = columns.reduce((sum, c) => sum + c.width, 0);

  const rows: JSX.Element[] = [];
  for (let index = first; index < last; index++) {
    const run = model.runAt(index);
    rows.push(
      <RunRow
        key={run ? run.run_id : `pending-${index}`}
        index={index}
        run={run}
        columns={columns}
        width={width}
        selected={run ? model.isSelected(run.run_id) : false}
        deleted={run ? model.isDeleted(run.run_id) : false}
        cursor={index === cursor}
        onClick={onRowClick}
        onActivate={props.onActivate}
      />
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
      onScroll={onScroll}
      onKeyDown={onKeyDown}
    >
      <RunsTableHeader
        columns={columns}
        width={width}
        sort={model.sort}
        onSort={key => void model.toggleSort(key)}
        onResize={(id, w) => model.setColumnWidth(id, w)}
      />
      {model.groupBy ? (
        <GroupedRows
          model={model}
          columns={columns}
          width={width}
          metric={model.sortMetric ?? model.visibleMetrics[0] ?? null}
          onActivate={props.onActivate}
        />
      ) : (
        <div className={BODY_CLASS} style={{ height: total * ROW_HEIGHT, width }}>
          {rows}
        </div>
      )}
      {model.isLoaded && total === 0 && (
        <div className={EMPTY_CLASS}>
          {model.query.filter || model.query.experiment
            ? 'No runs match.'
            : 'No runs yet. Run a cell with %%track (after %load_ext workbench) to record one.'}
        </div>
      )}
      {!model.isLoaded && <div className={EMPTY_CLASS}>Loading runs…</div>}
    </div>
  );
}
