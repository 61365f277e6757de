/**
 * The runs table: sortable headers, multi-select rows, and virtual rendering so that
 * 10,000 runs cost as much as the 40 or so rows on screen.
 */
import * as React from 'react';

import { useSignal } from '../../hooks';
import { RunsModel } from '../../model';
import { IRun } from '../../tokens';
import { buildColumns } from './columns';
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
  const columns = buildColumns(model.visibleParams, model.visibleMetrics);
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
      />
      <div className={BODY_CLASS} style={{ height: total * ROW_HEIGHT, width }}>
        {rows}
      </div>
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
