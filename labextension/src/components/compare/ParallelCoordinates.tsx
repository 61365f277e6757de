/**
 * Parallel coordinates of the compared runs: the differing parameters and one metric
 * (the objective by default) as the last axis, fitted to the view's width; and a scatter
 * of any parameter against any metric.
 */
import * as React from 'react';
import { HTMLSelect } from '@jupyterlab/ui-components';

import { getParallelChart, getScatterChart } from '../../api';
import { distinctParams } from '../../format';
import { ICompareReply } from '../../tokens';
import { ServerChart } from '../ServerChart';
import { COMPARE_CLASS } from './constants';
import { useWidth } from './useWidth';

/**
 * Props of {@link ParallelCoordinates}.
 */
export interface IParallelCoordinatesProps {
  data: ICompareReply;
  /** Changes when the runs may have changed (a live comparison's reloads). */
  version?: number;
}

/**
 * The metric a chart starts with: the runs' objective, else the first with a best run.
 *
 * @param data - The comparison.
 * @returns A metric name, or undefined when the runs have none.
 */
export function startMetric(data: ICompareReply): string | undefined {
  const names = Object.keys(data.metrics);
  if (data.objective && names.includes(data.objective)) {
    return data.objective;
  }
  return Object.keys(data.best)[0] ?? names[0];
}

/** Room the legend and padding take beside the plot, in px. */
const CHART_CHROME = 80;

/** A labelled drop-down. */
function Pick(props: {
  label: string;
  className: string;
  value: string;
  options: ReadonlyArray<string>;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <label className={`${COMPARE_CLASS}-toggle`}>
      {props.label}{' '}
      <HTMLSelect
        className={props.className}
        value={props.value}
        options={[...props.options]}
        onChange={event => props.onChange(event.currentTarget.value)}
      />
    </label>
  );
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
  const objective = startMetric(data);
  const [metric, setMetric] = React.useState<string>(objective ?? '');
  const [ref, width, measured] = useWidth();
  // A reload may have dropped the picked metric: fall back to the objective again.
  const shown = data.metrics[metric] ? metric : objective;
  const params = distinctParams(data.params, data.differing_params);
  if (params.length === 0) {
    return <p className="jp-workbench-note">These runs have the same parameters.</p>;
  }
  if (shown === undefined) {
    return <p className="jp-workbench-note">These runs have no metrics.</p>;
  }
  const runIds = data.runs.map(r => r.run_id);
  // Without a width (not laid out) the chart fills its container.
  const plot = width > 0 ? Math.max(240, width - CHART_CHROME) : undefined;
  return (
    <div ref={ref} className={`${COMPARE_CLASS}-parallel`}>
      <Pick
        label="Metric axis:"
        className={`${COMPARE_CLASS}-metricPick`}
        value={shown}
        options={metricNames}
        onChange={setMetric}
      />
      {measured && (
        <ServerChart
          chartKey={JSON.stringify(['parallel', runIds, shown, params, plot])}
          request={() => getParallelChart(runIds, shown, params, undefined, plot)}
          label={`parallel coordinates of the differing parameters and ${shown}`}
          version={props.version}
        />
      )}
    </div>
  );
}

/**
 * A parameter against a metric, a point per run in the run's colour.
 *
 * @param props - The comparison.
 * @returns The pickers and the chart.
 */
export function Scatter(props: IParallelCoordinatesProps): JSX.Element {
  const { data } = props;
  const metricNames = Object.keys(data.metrics);
  const paramNames = distinctParams(data.params, Object.keys(data.params));
  const differing = distinctParams(data.params, data.differing_params);
  const [param, setParam] = React.useState(differing[0] ?? paramNames[0] ?? '');
  const [metric, setMetric] = React.useState(startMetric(data) ?? '');
  if (!param || !metric) {
    return <p className="jp-workbench-note">These runs need a parameter and a metric.</p>;
  }
  const runIds = data.runs.map(r => r.run_id);
  return (
    <div className={`${COMPARE_CLASS}-scatter`}>
      <div className={`${COMPARE_CLASS}-curveControls`}>
        <Pick
          label="Parameter:"
          className={`${COMPARE_CLASS}-scatterParam`}
          value={param}
          options={paramNames}
          onChange={setParam}
        />
        <Pick
          label="Metric:"
          className={`${COMPARE_CLASS}-scatterMetric`}
          value={metric}
          options={metricNames}
          onChange={setMetric}
        />
      </div>
      <ServerChart
        chartKey={JSON.stringify(['scatter', runIds, param, metric])}
        request={() => getScatterChart(runIds, param, metric)}
        label={`${metric} by ${param}`}
        version={props.version}
      />
    </div>
  );
}
