/**
 * Each compared run's detail, one tab per run.
 */
import * as React from 'react';

import { ICardFile, IRunDetail } from '../../tokens';
import { RunDetail } from '../RunDetail';
import { COMPARE_CLASS } from './constants';

/**
 * Props of {@link Details}.
 */
export interface IDetailsProps {
  /** One detail per run; null where it could not be loaded. */
  details: (IRunDetail | null)[];
  /** One tab label per run. */
  labels: string[];
  openNotebook?: (path: string, cellIndex?: number | null) => void;
  openRun?: (runId: string) => void;
  openCard?: (card: ICardFile, runId: string) => void;
  openLineage?: (runId: string) => void;
}

/**
 * A tab bar of the runs and the chosen run's {@link RunDetail}.
 *
 * @param props - The details, labels and the openers passed on to RunDetail.
 * @returns The tabs and the detail.
 */
export function Details(props: IDetailsProps): JSX.Element {
  const [index, setIndex] = React.useState(0);
  const detail = props.details[index] ?? null;
  return (
    <>
      <div className={`${COMPARE_CLASS}-tabs`} role="tablist">
        {props.labels.map((label, i) => (
          <button
            key={i}
            role="tab"
            aria-selected={i === index}
            className={`${COMPARE_CLASS}-tab${i === index ? ' jp-mod-active' : ''}`}
            onClick={() => setIndex(i)}
          >
            {label}
          </button>
        ))}
      </div>
      {detail ? (
        <RunDetail
          detail={detail}
          openNotebook={props.openNotebook}
          openRun={props.openRun}
          openCard={props.openCard}
          openLineage={props.openLineage}
        />
      ) : (
        <p className="jp-workbench-error">Could not load this run.</p>
      )}
    </>
  );
}
