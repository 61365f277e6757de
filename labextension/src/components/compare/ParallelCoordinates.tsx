/**
 * Parallel coordinates of the compared runs: the differing parameters and one metric.
 */
import * as React from 'react';
import { HTMLSelect } from '@jupyterlab/ui-components';

import { getParallelChart } from '../../api';
import { ICompareReply } from '../../tokens';
import { ServerChart } from '../ServerChart';
import { COMPARE_CLASS } from './constants';

/**
 * Props of {@link ParallelCoordinates}.
 */
export interface IParallelCoordinatesProps {
  data: ICompareReply;
  /** Changes when the runs may have changed (a live comparison's reloads). */
  version?: number;
}

/**
 * A metric picker and the server's parallel coordinates chart of the parameters that
 * differ between the runs, with the picked metric as the last axis.
 *
 * @param props - The comparison.
 * @returns The picker and the chart, or a note when there is nothing to draw.
 */
export function ParallelCoordinates(props: IParallelCoordinatesProps): JSX.Element {
  const { data } = props;
  const metricNames = Object.keys(data.metrics);
  const [metric, setMetric] = React.useState<string>(
    Object.keys(data.best)[0] ?? metricNames[0] ?? ''
  );
  // A reload may have dropped the picked metric: fall back to the first again.
  const shown = data.metrics[metric] ? metric : (Object.keys(data.best)[0] ?? metricNames[0]);
  const params = data.differing_params;
  if (params.length === 0) {
    return <p className="jp-workbench-note">These runs have the same parameters.</p>;
  }
  if (shown === undefined) {
    return <p className="jp-workbench-note">These runs have no metrics.</p>;
  }
  const runIds = data.runs.map(r => r.run_id);
  return (
    <>
      <label className={`${COMPARE_CLASS}-toggle`}>
        Metric axis:{' '}
        <HTMLSelect
          className={`${COMPARE_CLASS}-metricPick`}
          value={shown}
          options={metricNames}
          onChange={event => setMetric(event.currentTarget.value)}
        />
      </label>
      <ServerChart
        chartKey={JSON.stringify(['parallel', runIds, shown, params])}
        request={() => getParallelChart(runIds, shown, params)}
        label={`parallel coordinates of the differing parameters and ${shown}`}
        version={props.version}
      />
    </>
  );
}
