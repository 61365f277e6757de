/**
 * A chart whose Vega-Lite spec the server builds (the one place specs are built),
 * rendered by {@link VegaChart}.
 */
import * as React from 'react';

import { useRequest } from '../hooks';
import { IChartReply } from '../tokens';
import { BusyNotice } from './BusyNotice';
import { CHART_CLASS, IChartView, VegaChart } from './VegaChart';

/**
 * Props of {@link ServerChart}.
 */
export interface IServerChartProps {
  /** Identifies the chart: a new key fetches a new spec. */
  chartKey: string;
  /** Fetches the spec, e.g. `() => getCurvesChart(ids, 'loss')`. */
  request: () => Promise<IChartReply>;
  /** Accessible name of the chart. */
  label: string;
  /** Changes when the data may have changed (a live comparison's reloads). */
  version?: number | string;
  /** Called with the drawn chart's view (see {@link VegaChart}). */
  onView?: (chart: IChartView | null) => void;
}

/**
 * Fetch a chart spec and render it; the last chart stays while a reload is in flight.
 *
 * @param props - The chart's key, its request and label.
 * @returns The chart, or a loading, busy or error note in its place.
 */
export function ServerChart(props: IServerChartProps): JSX.Element {
  const { data, isStale, error, busy } = useRequest(props.chartKey, props.request, props.version);
  if (data && !isStale && !error) {
    return <VegaChart spec={data.spec} label={props.label} onView={props.onView} />;
  }
  return (
    <figure className={`${CHART_CLASS}-figure ${CHART_CLASS}-placeholder`} aria-label={props.label}>
      {busy ? (
        <BusyNotice />
      ) : error ? (
        <p className="jp-workbench-error">{error}</p>
      ) : (
        <p className="jp-workbench-note">Loading the chart…</p>
      )}
    </figure>
  );
}
