/**
 * The final metrics of the compared runs side by side, the best marked.
 */
import * as React from 'react';

import { formatMetric } from '../../format';
import { ICompareReply } from '../../tokens';
import { COMPARE_CLASS } from './constants';
import { RunHeaders } from './RunHeaders';

/**
 * Every metric's final value with one column per run; the best run's cell has a star.
 *
 * @param props - The comparison.
 * @returns The table, or a note when no metrics were recorded.
 */
export function MetricsTable(props: { data: ICompareReply }): JSX.Element {
  const { data } = props;
  const names = Object.keys(data.metrics);
  if (names.length === 0) {
    return <p className="jp-workbench-note">No metrics recorded.</p>;
  }
  return (
    <div className={`${COMPARE_CLASS}-tableScroll`}>
      <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-metrics`}>
        <thead>
          <RunHeaders data={data} first="metric" />
        </thead>
        <tbody>
          {names.map(name => (
            <tr key={name}>
              <th title={name}>{name}</th>
              {data.metrics[name].map((value, i) => {
                const best = data.best[name] === i;
                return (
                  <td
                    key={i}
                    className={`jp-mod-numeric${best ? ' jp-mod-best' : ''}${
                      value === null ? ' jp-mod-missing' : ''
                    }`}
                    title={best ? 'best of these runs' : String(value ?? '')}
                  >
                    {value === null ? '—' : formatMetric(value)}
                    {best && <span className={`${COMPARE_CLASS}-bestMark`}> ★</span>}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
