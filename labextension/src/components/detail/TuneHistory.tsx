/**
 * A tune's optimisation history, in the detail of any of its runs: each trial's value
 * and the best so far (a chart), and every trial with its parameters (best marked).
 */
import * as React from 'react';

import { getTune } from '../../api';
import { formatMetric, shortId } from '../../format';
import { useRequest } from '../../hooks';
import { ITuneTrial } from '../../tokens';
import { BusyNotice } from '../BusyNotice';
import { VegaChart } from '../VegaChart';

/** CSS class of the tune tab. */
export const TUNE_HISTORY_CLASS = 'jp-workbench-TuneHistory';

/**
 * Props of {@link TuneHistory}.
 */
export interface ITuneHistoryProps {
  /** The runs' `tune_id` tag. */
  tuneId: string;
  /** The run whose detail shows the tab (its row is marked). */
  runId: string;
  /** Anything that changes when the tune may have more trials (refetches). */
  version: string;
  /** Shows another trial's run; rows are inert without it. */
  openRun?: (runId: string) => void;
}

/** The parameter names of the trials, in the order they first appear. */
function paramNames(trials: ITuneTrial[]): string[] {
  const names: string[] = [];
  for (const t of trials) {
    for (const name of Object.keys(t.params)) {
      if (!names.includes(name)) {
        names.push(name);
      }
    }
  }
  return names;
}

/** Every trial: number, state, value (the best starred), best so far, parameters. */
function TrialsTable(props: {
  trials: ITuneTrial[];
  objective: string | null;
  bestId: string | null;
  runId: string;
  openRun?: (runId: string) => void;
}): JSX.Element {
  const { trials, objective, bestId } = props;
  const params = paramNames(trials);
  return (
    <div className={`${TUNE_HISTORY_CLASS}-scroll`}>
      <table className={`${TUNE_HISTORY_CLASS}-trials`}>
        <thead>
          <tr>
            <th>#</th>
            <th>state</th>
            <th>{objective ?? 'value'}</th>
            <th title="the best value up to this trial">best so far</th>
            {params.map(p => (
              <th key={p}>{p}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {trials.map(t => {
            const classes = [
              t.run_id === bestId ? 'jp-mod-best' : '',
              t.run_id === props.runId ? 'jp-mod-current' : ''
            ].filter(Boolean);
            return (
              <tr
                key={t.run_id}
                data-run-id={t.run_id}
                data-trial={t.trial ?? ''}
                className={classes.join(' ') || undefined}
                title={t.run_id === props.runId ? 'this run' : 'show this trial'}
                onClick={props.openRun ? () => props.openRun!(t.run_id) : undefined}
              >
                <td>{t.trial ?? '–'}</td>
                <td data-state={t.state}>{t.state}</td>
                <td className="jp-mod-numeric">
                  {t.value === null ? '–' : formatMetric(t.value)}
                  {t.run_id === bestId && <span title="the best trial"> ★</span>}
                </td>
                <td className="jp-mod-numeric">
                  {t.best_so_far === null ? '–' : formatMetric(t.best_so_far)}
                </td>
                {params.map(p => (
                  <td key={p}>{t.params[p] ?? ''}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The tune tab: a summary line, the history chart and the trials table.
 *
 * @param props - The tune, the run shown and an opener for other trials.
 * @returns The tab's content.
 */
export function TuneHistory(props: ITuneHistoryProps): JSX.Element {
  const { data, error, busy, isStale } = useRequest(
    `tune:${props.tuneId}`,
    () => getTune(props.tuneId),
    props.version
  );
  if (!data || isStale) {
    return (
      <div className={TUNE_HISTORY_CLASS} role="tabpanel">
        {busy && <BusyNotice />}
        {error && <div className="jp-workbench-error">{error}</div>}
        {!error && !busy && <div className="jp-workbench-note">Loading the tune…</div>}
      </div>
    );
  }
  const { trials, best, objective, direction } = data;
  return (
    <div className={TUNE_HISTORY_CLASS} role="tabpanel">
      {error && <div className="jp-workbench-error">{error}</div>}
      <div className={`${TUNE_HISTORY_CLASS}-summary`}>
        {data.study ?? shortId(data.tune_id ?? props.tuneId)}: {trials.length} trial
        {trials.length === 1 ? '' : 's'}, {direction === 'maximize' ? 'maximizing' : 'minimizing'}{' '}
        {objective ?? 'the objective'}
        {best && (
          <>
            {'; best: trial '}
            <b>{best.trial ?? shortId(best.run_id)}</b> = <b>{formatMetric(best.value)}</b>
            {Object.keys(best.params).length > 0 &&
              ` (${Object.entries(best.params)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')})`}
          </>
        )}
      </div>
      {data.chart ? (
        <VegaChart spec={data.chart} label="The tune's value by trial and best so far" />
      ) : (
        <div className="jp-workbench-note">No trial has a value yet.</div>
      )}
      <TrialsTable
        trials={trials}
        objective={objective}
        bestId={best?.run_id ?? null}
        runId={props.runId}
        openRun={props.openRun}
      />
    </div>
  );
}
