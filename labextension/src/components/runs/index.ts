/**
 * The runs table's React components.
 */
export { buildColumns, IColumn } from './columns';
export { CELL_CLASS, OVERSCAN, ROW_HEIGHT, RUNS_ROW_CLASS, RUNS_TABLE_CLASS } from './constants';
export { IRunRowProps, RunRow } from './RunRow';
export { IRunsTableProps, RunsTable } from './RunsTable';
export { IRunsTableHeaderProps, RunsTableHeader } from './RunsTableHeader';
export { IVirtualRows, useVirtualRows } from './useVirtualRows';
export { GROUP_CLASS, GroupedRows, MAX_GROUPED_RUNS } from './GroupedTable';
export { GroupBy, groupRuns, higherIsBetter, IRunGroup } from './grouping';
export { fitLabel, headerTextWidth } from './measure';
