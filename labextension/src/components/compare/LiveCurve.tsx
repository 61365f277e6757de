/**
 * One metric's curves that grow while their runs do: each live tick asks the server
 * only for the points past the last step drawn, and adds them to the drawn chart.
 */
import * as React from 'react';

import { getCurvesChart, getMetrics, ICurveOptions } from '../../api';
import { cursors, lastSteps, rowsToAdd, specDomain } from '../../live';
import { ServerChart } from '../ServerChart';
import { IChartView } from '../VegaChart';
import { COMPARE_CLASS, LIVE_MAX_ROWS, LIVE_POINTS } from './constants';

/** A live comparison's poll: increases after each answer, with the runs to ask about. */
export interface ILiveTick {
  tick: number;
  /** The runs that are (or just were) running. */
  runIds: ReadonlyArray<string>;
}

/**
 * Props of {@link LiveCurve}.
 */
export interface ILiveCurveProps {
  /** Every compared run, in legend order. */
  runIds: ReadonlyArray<string>;
  metric: string;
  options: ICurveOptions;
  /** Changes when the whole chart is to be fetched again (the Reload button). */
  version?: number;
  live?: ILiveTick;
}

/** What the chart holds: its rows and the last step drawn (a DOM attribute tests read). */
interface IDrawn {
  points: number;
  lastStep: number | null;
}

function drawnOf(chart: IChartView): IDrawn {
  const rows = chart.view.data(chart.data) as { step?: unknown }[];
  let lastStep: number | null = null;
  for (const row of rows) {
    if (typeof row.step === 'number' && (lastStep === null || row.step > lastStep)) {
      lastStep = row.step;
    }
  }
  return { points: rows.length, lastStep };
}

/**
 * A curves chart of one metric, kept up to date while runs log.
 *
 * Plain step curves grow in place: the points past each polled run's last step drawn
 * are inserted into the Vega view. Smoothed curves and time axes are fetched whole at
 * each tick instead (the average and the time origin are computed on the server), as is
 * a chart grown past {@link LIVE_MAX_ROWS} rows (the server downsamples it again).
 *
 * @param props - The runs, the metric, the curve options and the live tick.
 * @returns The chart.
 */
export function LiveCurve(props: ILiveCurveProps): JSX.Element {
  const { runIds, metric, options, live } = props;
  const [refetch, setRefetch] = React.useState(0);
  const [drawn, setDrawn] = React.useState<IDrawn>({ points: 0, lastStep: null });
  const chart = React.useRef<IChartView | null>(null);
  const domain = React.useRef<string[] | null>(null);
  const incremental = !options.smoothing && (options.x ?? 'step') === 'step';

  const onView = React.useCallback((view: IChartView | null) => {
    chart.current = view;
    if (view) {
      setDrawn(drawnOf(view));
    }
  }, []);
  const request = React.useCallback(async () => {
    const reply = await getCurvesChart(runIds, metric, undefined, options);
    domain.current = specDomain(reply.spec);
    return reply;
  }, [runIds, metric, options]);

  const tick = live?.tick ?? 0;
  const inflight = React.useRef(false);
  React.useEffect(() => {
    const polled = live?.runIds ?? [];
    if (tick === 0 || polled.length === 0 || inflight.current) {
      return; // One poll at a time: a slow answer makes the next tick wait.
    }
    const view = chart.current;
    const labels = domain.current;
    if (!incremental || !view || !labels) {
      setRefetch(r => r + 1);
      return;
    }
    const labelOf = (id: string): string | undefined => labels[runIds.indexOf(id)];
    const last = lastSteps(view.view.data(view.data) as { run?: string; step?: number }[]);
    inflight.current = true;
    getMetrics(polled, [metric], LIVE_POINTS, cursors(polled, labelOf, last))
      .then(async reply => {
        if (chart.current !== view) {
          return; // Redrawn meanwhile: the next tick asks from the new chart's steps.
        }
        const added = rowsToAdd(reply.series, labelOf, last);
        if (added.length > 0) {
          await view.view.insert(view.data, added).runAsync();
        }
        const now = drawnOf(view);
        setDrawn(now);
        if (now.points > LIVE_MAX_ROWS) {
          setRefetch(r => r + 1);
        }
      })
      .catch(() => {
        // A busy store or a failed request: the next tick asks again from the same steps.
      })
      .finally(() => {
        inflight.current = false;
      });
    // Only a new tick polls; the rest is read when it comes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tick]);

  const optionKey = JSON.stringify(options);
  return (
    <div
      className={`${COMPARE_CLASS}-liveCurve`}
      data-metric={metric}
      data-points={drawn.points}
      data-last-step={drawn.lastStep ?? ''}
    >
      <ServerChart
        chartKey={`curves:${runIds.join(',')}:${metric}:${optionKey}`}
        request={request}
        label={`${metric} by ${options.x ?? 'step'}`}
        version={`${props.version ?? 0}:${refetch}`}
        onView={onView}
      />
    </div>
  );
}
