/**
 * The datasets the compared runs used, by content hash, with their statistics drift.
 */
import * as React from 'react';

import { runLabel } from '../../format';
import { ICompareReply, IDatasetRow } from '../../tokens';
import { COMPARE_CLASS } from './constants';
import { DriftTable } from './DriftTable';
import { RunHeaders } from './RunHeaders';

/**
 * Whether each run's hash stands out: differs from the most common hash of the row.
 *
 * @param hashes - One content hash per run (null where a run did not use the dataset).
 * @returns One flag per run.
 */
export function oddHashes(hashes: (string | null)[]): boolean[] {
  const counts = new Map<string | null, number>();
  for (const h of hashes) {
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  const top = Math.max(...counts.values());
  const common = [...counts.entries()].filter(([, n]) => n === top);
  // With no single most common hash (e.g. two runs, two hashes) every one stands out.
  const baseline = common.length === 1 ? common[0][0] : undefined;
  return hashes.map(h => baseline === undefined || h !== baseline);
}

function hashCell(row: IDatasetRow, i: number, odd: boolean): JSX.Element {
  const sha = row.sha256[i];
  const count = row.rows[i];
  return (
    <td
      key={i}
      className={`${sha === null ? 'jp-mod-missing' : ''}${odd ? ' jp-mod-oddHash' : ''}`}
      title={sha ? `sha256 ${sha}` : 'not used by this run'}
    >
      {sha === null ? (
        '—'
      ) : (
        <>
          <code className={`${COMPARE_CLASS}-hash`}>{sha.slice(0, 8)}</code>
          {count !== null && count !== undefined && (
            <span className={`${COMPARE_CLASS}-rowCount`}>
              {' '}
              {count.toLocaleString()} row{count === 1 ? '' : 's'}
            </span>
          )}
        </>
      )}
    </td>
  );
}

/**
 * One row per dataset with each run's content hash (odd ones marked) and, below it, the
 * column statistics that differ; a banner when the runs trained on different data.
 *
 * @param props - The comparison; it must have `datasets`.
 * @returns The banner and the table.
 */
export function DatasetsTable(props: { data: ICompareReply }): JSX.Element {
  const { data } = props;
  const datasets = data.datasets ?? { differ: false, rows: [] };
  const labels = data.runs.map(runLabel);
  const width = data.runs.length + 1;
  return (
    <>
      {datasets.differ && (
        <p className={`${COMPARE_CLASS}-warning ${COMPARE_CLASS}-dataWarning`} role="status">
          These runs trained on different data.
        </p>
      )}
      <div className={`${COMPARE_CLASS}-tableScroll`}>
        <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-datasetsTable`}>
          <thead>
            <RunHeaders data={data} first="dataset" />
          </thead>
          <tbody>
            {datasets.rows.map(row => {
              const odd = row.same ? row.sha256.map(() => false) : oddHashes(row.sha256);
              return (
                <React.Fragment key={`${row.role}:${row.name}`}>
                  <tr className={row.same ? '' : 'jp-mod-differs'} data-dataset={row.name}>
                    <th title={row.name}>
                      {row.name}
                      <span className={`${COMPARE_CLASS}-role`}>{row.role}</span>
                    </th>
                    {row.sha256.map((_, i) => hashCell(row, i, odd[i]))}
                  </tr>
                  {row.drift.length > 0 && (
                    <tr className={`${COMPARE_CLASS}-driftRow`}>
                      <td colSpan={width}>
                        <DriftTable row={row} labels={labels} />
                      </td>
                    </tr>
                  )}
                </React.Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
