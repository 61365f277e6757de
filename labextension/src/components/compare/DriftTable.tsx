/**
 * The column statistics of one dataset that differ between the compared runs.
 */
import * as React from 'react';

import { formatMetric } from '../../format';
import { IDatasetRow } from '../../tokens';
import { COMPARE_CLASS } from './constants';

/**
 * Props of {@link DriftTable}.
 */
export interface IDriftTableProps {
  row: IDatasetRow;
  /** One label per run. */
  labels: string[];
}

/**
 * A collapsible table of column, statistic and one value per run (open when short).
 *
 * @param props - The dataset row and the run labels.
 * @returns The `<details>` element.
 */
export function DriftTable(props: IDriftTableProps): JSX.Element {
  const { row, labels } = props;
  return (
    <details className={`${COMPARE_CLASS}-drift`} open={row.drift.length <= 20}>
      <summary>Column statistics that differ ({row.drift.length})</summary>
      <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-driftTable`}>
        <thead>
          <tr>
            <th>column</th>
            <th>stat</th>
            {labels.map((label, i) => (
              <th key={i}>{label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {row.drift.map(d => (
            <tr key={`${d.column}:${d.stat}`}>
              <th title={d.column}>{d.column}</th>
              <td>{d.stat}</td>
              {d.values.map((value, i) => (
                <td key={i} className={`jp-mod-numeric${value === null ? ' jp-mod-missing' : ''}`}>
                  {value === null ? '—' : formatMetric(value)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
