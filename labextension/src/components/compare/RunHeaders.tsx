/**
 * The header row shared by the comparison's tables: one column per run.
 */
import * as React from 'react';

import { runColour, runLabel } from '../../format';
import { ICompareReply } from '../../tokens';
import { OriginBadge, StatusBadge } from '../Badges';
import { COMPARE_CLASS } from './constants';

/**
 * Props of {@link RunHeaders}.
 */
export interface IRunHeadersProps {
  data: ICompareReply;
  /** The heading of the first column (what the rows are). */
  first: string;
}

/**
 * A `<tr>` of run labels with status and origin badges.
 *
 * @param props - The comparison and the first column's heading.
 * @returns The header row.
 */
export function RunHeaders(props: IRunHeadersProps): JSX.Element {
  return (
    <tr>
      <th>{props.first}</th>
      {props.data.runs.map((run, i) => (
        <th key={run.run_id} title={run.run_id}>
          <div className={`${COMPARE_CLASS}-runName`}>
            <RunSwatch index={i} />
            {runLabel(run)}
          </div>
          <div className={`${COMPARE_CLASS}-runBadges`}>
            <StatusBadge status={run.status} />
            <OriginBadge origin={run.origin} />
          </div>
        </th>
      ))}
    </tr>
  );
}

/**
 * A dot in the run's chart colour, so the tables match the legends.
 *
 * @param props - The run's position among the compared runs.
 * @returns The dot, or null past the ten colours.
 */
export function RunSwatch(props: { index: number }): JSX.Element | null {
  const colour = runColour(props.index);
  return colour ? (
    <span
      className="jp-workbench-RunSwatch"
      style={{ background: colour }}
      aria-hidden="true"
      data-colour={colour}
    />
  ) : null;
}
