/**
 * The compared runs' metric curves, with the controls people expect: which metric,
 * smoothing (an exponential moving average), a log scale, and x as step, wall time or
 * relative time.
 */
import * as React from 'react';
import { HTMLSelect } from '@jupyterlab/ui-components';

import { ICurveOptions } from '../../api';
import {
  isSystemMetric,
  modelFirst,
  splitMetrics,
  SYSTEM_GROUP,
  systemLabel
} from '../../metricGroups';
import { COMPARE_CLASS } from './constants';
import { ILiveTick, LiveCurve } from './LiveCurve';

/**
 * Props of {@link Curves}.
 */
export interface ICurvesProps {
  runIds: ReadonlyArray<string>;
  /** The metrics with curves (logged at more than one step), sorted. */
  keys: ReadonlyArray<string>;
  /** Changes when every chart is to be fetched whole again (the Reload button). */
  version?: number;
  /** A live comparison's polls: the charts add the polled runs' new points. */
  live?: ILiveTick;
}

const ALL = '';
const X_OPTIONS = [
  { label: 'step', value: 'step' },
  { label: 'wall time', value: 'wall' },
  { label: 'relative time', value: 'relative' }
];

/** The row of curve controls. */
function CurveControls(props: {
  keys: ReadonlyArray<string>;
  metric: string;
  options: ICurveOptions;
  onMetric: (metric: string) => void;
  onOptions: (options: ICurveOptions) => void;
}): JSX.Element {
  const { options, onOptions } = props;
  const smoothing = options.smoothing ?? 0;
  return (
    <div className={`${COMPARE_CLASS}-curveControls`}>
      <label>
        Metric{' '}
        <HTMLSelect
          className={`${COMPARE_CLASS}-curveMetric`}
          value={props.metric}
          options={[
            { label: 'all', value: ALL },
            ...modelFirst(props.keys).map(k => ({
              label: isSystemMetric(k) ? `${SYSTEM_GROUP} · ${systemLabel(k)}` : k,
              value: k
            }))
          ]}
          onChange={event => props.onMetric(event.currentTarget.value)}
        />
      </label>
      <label title="An exponential moving average; the raw curve stays drawn faintly">
        Smoothing{' '}
        <input
          className={`${COMPARE_CLASS}-smoothing`}
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={smoothing}
          onChange={event =>
            onOptions({ ...options, smoothing: Number(event.currentTarget.value) })
          }
        />
        <output>{smoothing.toFixed(2)}</output>
      </label>
      <label>
        <input
          className={`${COMPARE_CLASS}-logScale`}
          type="checkbox"
          checked={options.log ?? false}
          onChange={event => onOptions({ ...options, log: event.currentTarget.checked })}
        />{' '}
        log scale
      </label>
      <label>
        x{' '}
        <HTMLSelect
          className={`${COMPARE_CLASS}-curveX`}
          value={options.x ?? 'step'}
          options={X_OPTIONS}
          onChange={event =>
            onOptions({ ...options, x: event.currentTarget.value as ICurveOptions['x'] })
          }
        />
      </label>
    </div>
  );
}

/**
 * The controls and a line chart per chosen metric, one line per run; the server builds
 * each spec.
 *
 * @param props - The runs and the metric names.
 * @returns The charts, or a note when no metric has a curve.
 */
export function Curves(props: ICurvesProps): JSX.Element {
  const { runIds, keys } = props;
  const [metric, setMetric] = React.useState(ALL);
  const [options, setOptions] = React.useState<ICurveOptions>({});
  // The System group's curves are drawn (and polled) only while it is open.
  const [showSystem, setShowSystem] = React.useState(false);
  // The smoothing slider asks the server once the hand rests, not at every pixel.
  const [applied, setApplied] = React.useState<ICurveOptions>({});
  React.useEffect(() => {
    const timer = window.setTimeout(() => setApplied(options), 250);
    return () => window.clearTimeout(timer);
  }, [options]);
  if (keys.length === 0) {
    return <p className="jp-workbench-note">No metric was logged at more than one step.</p>;
  }
  const chosen = metric && keys.includes(metric) ? [metric] : null;
  const { model, system } = splitMetrics(chosen ?? keys);
  const chart = (key: string): JSX.Element => (
    <LiveCurve
      key={key}
      runIds={runIds}
      metric={key}
      options={applied}
      version={props.version}
      live={props.live}
    />
  );
  return (
    <>
      <CurveControls
        keys={keys}
        metric={metric}
        options={options}
        onMetric={setMetric}
        onOptions={setOptions}
      />
      <div className={`${COMPARE_CLASS}-charts`}>{model.map(chart)}</div>
      {system.length > 0 && (
        <details
          className={`${COMPARE_CLASS}-systemCurves`}
          data-group="system"
          open={showSystem || chosen !== null}
          onToggle={event => setShowSystem(event.currentTarget.open)}
        >
          <summary>
            {SYSTEM_GROUP} ({system.length})
          </summary>
          {(showSystem || chosen !== null) && (
            <div className={`${COMPARE_CLASS}-charts`}>{system.map(chart)}</div>
          )}
        </details>
      )}
    </>
  );
}
