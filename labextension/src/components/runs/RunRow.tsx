/**
 * One row of the runs table, placed absolutely at its index (virtual rendering).
 */
import * as React from 'react';

import { IRun } from '../../tokens';
import { IColumn } from './columns';
import { CELL_CLASS, ROW_HEIGHT, RUNS_ROW_CLASS } from './constants';

/**
 * Props of {@link RunRow}.
 */
export interface IRunRowProps {
  index: number;
  /** The run, or undefined while its page is loading. */
  run: IRun | undefined;
  columns: IColumn[];
  /** The sum of the column widths, in px. */
  width: number;
  selected: boolean;
  /** Whether the run is soft-deleted (struck through). */
  deleted?: boolean;
  /** Whether the keyboard cursor is on this row. */
  cursor: boolean;
  onClick: (index: number, event: React.MouseEvent) => void;
  onActivate?: (run: IRun) => void;
}

/**
 * A run's cells, or a placeholder while its page loads.
 *
 * @param props - The row's index, run, columns and state.
 * @returns The row element.
 */
export function RunRow(props: IRunRowProps): JSX.Element {
  const { index, run, columns } = props;
  const style = { transform: `translateY(${index * ROW_HEIGHT}px)`, width: props.width };
  if (!run) {
    return (
      <div className={`${RUNS_ROW_CLASS} jp-mod-pending`} style={style}>
        <div className={CELL_CLASS}>…</div>
      </div>
    );
  }
  const classes = [RUNS_ROW_CLASS];
  if (props.selected) {
    classes.push('jp-mod-selected');
  }
  if (props.cursor) {
    classes.push('jp-mod-cursor');
  }
  if (props.deleted ?? run.deleted) {
    classes.push('jp-mod-deleted');
  }
  return (
    <div
      role="row"
      aria-selected={props.selected}
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
      onClick={event => props.onClick(index, event)}
      onDoubleClick={() => props.onActivate?.(run)}
    >
      {columns.map(column => (
        <div
          key={column.id}
          role="gridcell"
          className={`${CELL_CLASS}${column.numeric ? ' jp-mod-numeric' : ''}${
            column.group ? ` jp-mod-${column.group}` : ''
          }`}
          style={{ width: column.width }}
          title={column.title(run)}
        >
          {column.render(run)}
        </div>
      ))}
    </div>
  );
}
