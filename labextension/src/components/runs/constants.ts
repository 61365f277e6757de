/**
 * Class names and sizes of the runs table.
 */

/** CSS class of the table (its scroll container). */
export const RUNS_TABLE_CLASS = 'jp-workbench-RunsTable';

/** CSS class of every data row; selected rows also have `jp-mod-selected`. */
export const RUNS_ROW_CLASS = 'jp-workbench-RunsTable-row';

/** CSS class of every header and data cell. */
export const CELL_CLASS = 'jp-workbench-RunsTable-cell';

/** Height of a row in px; fixed so a row's position is index * height (virtualization). */
export const ROW_HEIGHT = 26;

/** Rows rendered above and below the viewport so fast scrolling shows no gaps. */
export const OVERSCAN = 10;
