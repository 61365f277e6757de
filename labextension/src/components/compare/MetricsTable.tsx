/**
 * The final metrics of the compared runs side by side, the best marked; system metrics
 * apart, in a group of their own.
 */
import * as React from 'react';

import { formatMetric } from '../../format';
import { modelBest, splitMetrics, SYSTEM_GROUP, systemLabel } from '../../metricGroups';
import { ICompareReply } from '../../tokens';
import { COMPARE_CLASS } from './constants';
import { RunHeaders } from './RunHeaders';

/** One metric's row: its final value per run, the best one starred (model metrics only). */
function MetricRow(props: { data: ICompareReply; name: string; best: number | undefined }) {
  const { data, name, best } = props;
  return (
    <tr data-metric={name}>
      <th title={name}>{systemLabel(name)}</th>
      {data.metrics[name].map((value, i) => {
        const isBest = best === i;
        return (
          <td
            key={i}
            className={`jp-mod-numeric${isBest ? ' jp-mod-best' : ''}${
              value === null ? ' jp-mod-missing' : ''
            }`}
            title={isBest ? 'best of these runs' : String(value ?? '')}
          >
            {value === null ? '—' : formatMetric(value)}
            {isBest && <span className={`${COMPARE_CLASS}-bestMark`}> ★</span>}
          </td>
        );
      })}
    </tr>
  );
}

/**
 * Every metric's final value with one column per run; the best run's cell has a star.
 * System metrics (`system/*`) follow under a "System" row of their own, never starred.
 *
 * @param props - The comparison.
 * @returns The table, or a note when no metrics were recorded.
 */
export function MetricsTable(props: { data: ICompareReply }): JSX.Element {
  const { data } = props;
  const { model, system } = splitMetrics(Object.keys(data.metrics));
  if (model.length + system.length === 0) {
    return <p className="jp-workbench-note">No metrics recorded.</p>;
  }
  const best = modelBest(data.best);
  return (
    <div className={`${COMPARE_CLASS}-tableScroll`}>
      <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-metrics`}>
        <thead>
          <RunHeaders data={data} first="metric" />
        </thead>
        <tbody>
          {model.map(name => (
            <MetricRow key={name} data={data} name={name} best={best[name]} />
          ))}
        </tbody>
        {system.length > 0 && (
          <tbody className={`${COMPARE_CLASS}-systemGroup`} data-group="system">
            <tr className={`${COMPARE_CLASS}-groupRow`}>
              <th colSpan={data.runs.length + 1}>{SYSTEM_GROUP}</th>
            </tr>
            {system.map(name => (
              <MetricRow key={name} data={data} name={name} best={undefined} />
            ))}
          </tbody>
        )}
      </table>
    </div>
  );
}
