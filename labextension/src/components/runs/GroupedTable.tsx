/**
 * The runs table grouped by experiment, sweep or a parameter: a header per group with
 * its count and the best value of the sort metric, then its runs. Every run of the
 * query is fetched (up to {@link MAX_GROUPED_RUNS}); groups fold open and shut.
 */
import * as React from 'react';
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';

import { listRuns, RUNS_PAGE_SIZE } from '../../api';
import { formatMetric } from '../../format';
import { useRequest } from '../../hooks';
import { RunsModel } from '../../model';
import { IRun } from '../../tokens';
import { BusyNotice } from '../BusyNotice';
import { IColumn } from './columns';
import { ROW_HEIGHT, RUNS_TABLE_CLASS } from './constants';
import { GroupBy, groupRuns, IRunGroup } from './grouping';
import { RunRow } from './RunRow';

/** CSS class of a group's header row. */
export const GROUP_CLASS = 'jp-workbench-RunsTable-group';
/** The most runs grouped at once. */
export const MAX_GROUPED_RUNS = 2000;

async function fetchRuns(model: RunsModel): Promise<IRun[]> {
  const runs: IRun[] = [];
  for (;;) {
    const reply = await listRuns(model.query, runs.length, RUNS_PAGE_SIZE);
    runs.push(...reply.runs);
    if (reply.runs.length === 0 || runs.length >= Math.min(reply.total, MAX_GROUPED_RUNS)) {
      return runs.slice(0, MAX_GROUPED_RUNS);
    }
  }
}

/** A group's header: fold toggle, label, count, best value. */
function GroupHeader(props: {
  group: IRunGroup;
  metric: string | null;
  open: boolean;
  top: number;
  width: number;
  onToggle: () => void;
}): JSX.Element {
  const { group, metric } = props;
  const Icon = props.open ? caretDownIcon : caretRightIcon;
  return (
    <div
      className={GROUP_CLASS}
      role="row"
      data-group={group.key}
      aria-expanded={props.open}
      style={{ transform: `translateY(${props.top}px)`, width: props.width }}
      onClick={props.onToggle}
    >
      <Icon.react tag="span" className={`${GROUP_CLASS}-caret`} />
      <span className={`${GROUP_CLASS}-label`} title={group.label}>
        {group.label}
      </span>
      <span className={`${GROUP_CLASS}-count`}>
        {group.runs.length} run{group.runs.length === 1 ? '' : 's'}
      </span>
      {metric && group.best !== null && (
        <span className={`${GROUP_CLASS}-best`} title={`best ${metric} in the group`}>
          best {metric} {formatMetric(group.best)}
        </span>
      )}
    </div>
  );
}

/**
 * Selection by clicks on grouped rows: plain, Ctrl/Cmd (toggle), Shift (range in the
 * order shown).
 *
 * @param model - The runs model holding the selection.
 * @returns The click handler: the run clicked, the event, the run ids in view order.
 */
function useGroupSelection(
  model: RunsModel
): (id: string, event: React.MouseEvent, order: ReadonlyArray<string>) => void {
  const anchor = React.useRef<string | null>(null);
  return (id, event, order) => {
    if (event.shiftKey && anchor.current !== null) {
      const [a, b] = [order.indexOf(anchor.current), order.indexOf(id)].sort((x, y) => x - y);
      model.setSelection(order.slice(a, b + 1));
      return;
    }
    anchor.current = id;
    if (event.ctrlKey || event.metaKey) {
      const selected = model.selection;
      model.setSelection(
        selected.includes(id) ? selected.filter(s => s !== id) : [...selected, id]
      );
    } else {
      model.setSelection([id]);
    }
  };
}

/**
 * The grouped rows, below the table's header.
 *
 * @param props - The model, the columns and their total width, the metric whose best
 *   value groups show, and the activation callback.
 * @returns The groups and their rows.
 */
export function GroupedRows(props: {
  model: RunsModel;
  columns: IColumn[];
  width: number;
  metric: string | null;
  onActivate?: (run: IRun) => void;
}): JSX.Element {
  const { model, columns, width, metric } = props;
  const key = `${model.generation}:${model.total}:${model.query.order_by}`;
  const { data, error, busy } = useRequest(key, () => fetchRuns(model));
  const [closed, setClosed] = React.useState<ReadonlySet<string>>(new Set());
  const select = useGroupSelection(model);
  if (!data) {
    return (
      <div className="jp-workbench-RunsTable-empty">
        {busy ? <BusyNotice /> : error ? error : 'Grouping the runs…'}
      </div>
    );
  }
  const direction = model.sortMetric === metric ? model.sort?.direction : undefined;
  const groups = groupRuns(data, model.groupBy as GroupBy, metric, direction);
  const order = groups.flatMap(g => (closed.has(g.key) ? [] : g.runs.map(r => r.run_id)));
  const onClick = (run: IRun, event: React.MouseEvent): void => select(run.run_id, event, order);
  const items: JSX.Element[] = [];
  let top = 0;
  for (const group of groups) {
    const open = !closed.has(group.key);
    items.push(
      <GroupHeader
        key={`group:${group.key}`}
        group={group}
        metric={metric}
        open={open}
        top={top}
        width={width}
        onToggle={() => {
          const next = new Set(closed);
          if (open) {
            next.add(group.key);
          } else {
            next.delete(group.key);
          }
          setClosed(next);
        }}
      />
    );
    top += ROW_HEIGHT;
    if (open) {
      for (const run of group.runs) {
        items.push(
          <RunRow
            key={run.run_id}
            index={top / ROW_HEIGHT}
            run={run}
            columns={columns}
            width={width}
            selected={model.isSelected(run.run_id)}
            deleted={model.isDeleted(run.run_id)}
            cursor={false}
            onClick={(_i, event) => onClick(run, event)}
            onActivate={props.onActivate}
          />
        );
        top += ROW_HEIGHT;
      }
    }
  }
  return (
    <div className={`${RUNS_TABLE_CLASS}-body jp-mod-grouped`} style={{ height: top, width }}>
      {items}
      {model.total > MAX_GROUPED_RUNS && (
        <div className="jp-workbench-note" style={{ transform: `translateY(${top}px)` }}>
          Grouping the first {MAX_GROUPED_RUNS} of {model.total} runs.
        </div>
      )}
    </div>
  );
}
