/**
 * The runs table's sticky header: click a sortable column to sort, again to flip; drag a
 * column's right edge to resize it. Long names are shortened in the middle, and the
 * tooltip shows them whole.
 */
import * as React from 'react';
import { caretDownIcon, caretUpIcon } from '@jupyterlab/ui-components';

import { ISort } from '../../model';
import { IColumn } from './columns';
import { CELL_CLASS } from './constants';
import { fitLabel } from './measure';

const HEADER_CLASS = 'jp-workbench-RunsTable-header';
/** CSS class of the drag handle at a header cell's right edge. */
export const RESIZER_CLASS = 'jp-workbench-RunsTable-resizer';
/** Horizontal padding of a cell plus the sort icon's room, in px. */
const LABEL_CHROME = 12;
const SORT_ICON = 16;

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
  /** Called while a column's edge is dragged, with its new width; no resizing without it. */
  onResize?: (id: string, width: number) => void;
}

/**
 * A row of column headers with the sort direction shown on the sorted one.
 *
 * @param props - Columns, width, sort and the sort and resize callbacks.
 * @returns The header row.
 */
export function RunsTableHeader(props: IRunsTableHeaderProps): JSX.Element {
  const { sort, onResize } = props;
  const startDrag = (column: IColumn, event: React.MouseEvent): void => {
    if (!onResize || event.button !== 0) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    const startX = event.clientX;
    const startWidth = column.width;
    const move = (e: MouseEvent): void => onResize(column.id, startWidth + e.clientX - startX);
    const up = (): void => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up, true);
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up, true);
  };
  return (
    <div className={HEADER_CLASS} role="row" style={{ width: props.width }}>
      {props.columns.map(column => {
        const active = sort !== null && column.sortKey === sort.key;
        const Icon = active && sort?.direction === 'DESC' ? caretDownIcon : caretUpIcon;
        const room = column.width - LABEL_CHROME - (active ? SORT_ICON : 0);
        const tooltip = [
          column.label,
          column.description,
          column.sortKey ? `click to sort by ${column.sortKey}` : null,
          onResize ? 'drag the right edge to resize' : null
        ]
          .filter(Boolean)
          .join('\n');
        return (
          <div
            key={column.id}
            role="columnheader"
            aria-sort={active ? (sort?.direction === 'ASC' ? 'ascending' : 'descending') : 'none'}
            aria-label={column.label}
            className={`${CELL_CLASS}${column.sortKey ? ' jp-mod-sortable' : ''}${
              active ? ' jp-mod-sorted' : ''
            }${column.numeric ? ' jp-mod-numeric' : ''}${
              column.group ? ` jp-mod-${column.group}` : ''
            }`}
            data-sort-key={column.sortKey ?? undefined}
            data-group={column.group}
            data-column={column.id}
            style={{ width: column.width }}
            title={tooltip}
            onClick={() => {
              if (column.sortKey) {
                props.onSort(column.sortKey);
              }
            }}
          >
            <span className="jp-workbench-RunsTable-label">{fitLabel(column.label, room)}</span>
            {active && <Icon.react tag="span" className="jp-workbench-RunsTable-sortIcon" />}
            {onResize && (
              <span
                className={RESIZER_CLASS}
                role="separator"
                aria-orientation="vertical"
                aria-label={`Resize ${column.label}`}
                onMouseDown={event => startDrag(column, event)}
                onClick={event => event.stopPropagation()}
              />
            )}
          </div>
        );
      })}
    </div>
  );
}
