/**
 * The runs table's sticky header: click a sortable column to sort, again to flip.
 */
import * as React from 'react';
import { caretDownIcon, caretUpIcon } from '@jupyterlab/ui-components';

import { ISort } from '../../model';
import { IColumn } from './columns';
import { CELL_CLASS } from './constants';

const HEADER_CLASS = 'jp-workbench-RunsTable-header';

/**
 * Props of {@link RunsTableHeader}.
 */
export interface IRunsTableHeaderProps {
  columns: IColumn[];
  /** The sum of the column widths, in px. */
  width: number;
  /** The current sort, or null for the server's order. */
  sort: ISort | null;
  /** Called with a column's order_by key when its header is clicked. */
  onSort: (key: string) => void;
}

/**
 * A row of column headers with the sort direction shown on the sorted one.
 *
 * @param props - Columns, width, sort and the sort callback.
 * @returns The header row.
 */
export function RunsTableHeader(props: IRunsTableHeaderProps): JSX.Element {
  const { sort } = props;
  return (
    <div className={HEADER_CLASS} role="row" style={{ width: props.width }}>
      {props.columns.map(column => {
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
                props.onSort(column.sortKey);
              }
            }}
          >
            <span className="jp-workbench-RunsTable-label">{column.label}</span>
            {active && <Icon.react tag="span" className="jp-workbench-RunsTable-sortIcon" />}
          </div>
        );
      })}
    </div>
  );
}
