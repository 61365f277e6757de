/**
 * Every metric of one run: its curves, one row per metric with its own scale, system
 * metrics (CPU, memory, GPU) in their own group, and the final values as a list.
 */
import * as React from 'react';

import { getRunCharts } from '../../api';
import { formatMetric } from '../../format';
import { useRequest } from '../../hooks';
import { BusyNotice } from '../BusyNotice';
import { VegaChart } from '../VegaChart';

/** CSS class of the charts tab. */
export const RUN_CHARTS_CLASS = 'jp-workbench-RunCharts';
/** Room the y axis and padding take beside the plot, in px. */
const AXIS_ROOM = 70;

/**
 * The run's metric charts, sized to the width they are shown in.
 *
 * @param props - The run, and a version that changes when it may have logged more.
 * @returns The charts tab's content.
 */
export function RunCharts(props: { runId: string; version: string }): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const [width, setWidth] = React.useState(0);
  React.useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    // Rounded to 40 px steps: a dragged sidebar refetches a few times, not per pixel.
    const measure = (): void =>
      setWidth(Math.max(160, Math.floor((node.clientWidth - AXIS_ROOM) / 40) * 40));
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    measure();
    return () => observer.disconnect();
  }, []);
  const key = width > 0 ? `${props.runId}:${width}` : null;
  const { data, error, busy, isStale } = useRequest(
    key,
    () => getRunCharts(props.runId, width),
    props.version
  );
  const finals = Object.entries(data && !isStale ? data.finals : {});
  return (
    <div ref={ref} className={RUN_CHARTS_CLASS} role="tabpanel">
      {busy && <BusyNotice />}
      {error && <div className="jp-workbench-error">{error}</div>}
      {!data && !error && !busy && <div className="jp-workbench-note">Loading the charts…</div>}
      {data && !isStale && (
        <>
          {finals.length > 0 && (
            <dl className={`${RUN_CHARTS_CLASS}-finals`}>
              {finals.map(([name, value]) => (
                <React.Fragment key={name}>
                  <dt>{name}</dt>
                  <dd>{formatMetric(value)}</dd>
                </React.Fragment>
              ))}
            </dl>
          )}
          {data.metrics ? (
            <div className={`${RUN_CHARTS_CLASS}-metrics`} data-group="metrics">
              <VegaChart spec={data.metrics} label="The run's metric curves" />
            </div>
          ) : (
            <div className="jp-workbench-note">No metric was logged at more than one step.</div>
          )}
          {data.system && (
            <details className={`${RUN_CHARTS_CLASS}-system`} data-group="system">
              <summary>System metrics</summary>
              <VegaChart spec={data.system} label="The run's system metrics" />
            </details>
          )}
        </>
      )}
    </div>
  );
}
