/**
 * The compared runs' metric curves: one chart per metric logged at several steps.
 */
import * as React from 'react';

import { getCurvesChart } from '../../api';
import { ServerChart } from '../ServerChart';
import { COMPARE_CLASS } from './constants';

/**
 * Props of {@link Curves}.
 */
export interface ICurvesProps {
  runIds: ReadonlyArray<string>;
  /** The metrics with curves (logged at more than one step), sorted. */
  keys: ReadonlyArray<string>;
  /** Changes when the runs may have logged more (a live comparison's reloads). */
  version?: number;
}

/**
 * A grid of line charts, one per metric, one line per run; the server builds each spec.
 *
 * @param props - The runs and the metric names.
 * @returns The charts, or a note when no metric has a curve.
 */
export function Curves(props: ICurvesProps): JSX.Element {
  const { runIds, keys } = props;
  if (keys.length === 0) {
    return <p className="jp-workbench-note">No metric was logged at more than one step.</p>;
  }
  const ids = runIds.join(',');
  return (
    <div className={`${COMPARE_CLASS}-charts`}>
      {keys.map(key => (
        <ServerChart
          key={key}
          chartKey={`curves:${ids}:${key}`}
          request={() => getCurvesChart(runIds, key)}
          label={`${key} by step`}
          version={props.version}
        />
      ))}
    </div>
  );
}
