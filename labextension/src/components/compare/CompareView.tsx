/**
 * The comparison of two or more runs: parameter diff, the data they used, final
 * metrics, metric curves, parallel coordinates, source diff and each run's detail.
 */
import * as React from 'react';
import { Button, refreshIcon } from '@jupyterlab/ui-components';

import { runLabel } from '../../format';
import { liveRunIds } from '../../live';
import { ICardFile, ICompareReply } from '../../tokens';
import { BusyNotice } from '../BusyNotice';
import { SourceDiff } from '../SourceDiff';
import { COMPARE_CLASS, LIVE_RELOAD_MS } from './constants';
import { Curves } from './Curves';
import { ILiveTick } from './LiveCurve';
import { DatasetsTable } from './DatasetsTable';
import { Details } from './Details';
import { MetricsTable } from './MetricsTable';
import { ParallelCoordinates, Scatter } from './ParallelCoordinates';
import { ParamsTable } from './ParamsTable';
import { Section } from './Section';
import { useComparison } from './useComparison';

/**
 * Props of {@link CompareView}.
 */
export interface ICompareViewProps {
  runIds: ReadonlyArray<string>;
  /** Opens a notebook by contents path (from the document manager). */
  openNotebook?: (path: string, cellIndex?: number | null) => void;
  /** Shows a run's detail in the side panel (from a run's lineage). */
  openRun?: (runId: string) => void;
  /** Opens an HTML model card in a main-area tab. */
  openCard?: (card: ICardFile, runId: string) => void;
  /** Opens a run's lineage in a main-area tab. */
  openLineage?: (runId: string) => void;
}

/**
 * The comparison's content; it reloads every few seconds while a run is still going.
 *
 * @param props - The run ids and the openers.
 * @returns The comparison view.
 */
export function CompareView(props: ICompareViewProps): JSX.Element {
  // Every reload (live ticks and the button), and the button's alone.
  const [version, setVersion] = React.useState(0);
  const [reloads, setReloads] = React.useState(0);
  const { data: comparison, error, busy } = useComparison(props.runIds, version, reloads);
  const data = comparison?.data ?? null;
  const running = data?.runs.some(r => r.status === 'running') ?? false;
  const live = useLive(data, running, setVersion);

  if (!comparison || !data) {
    return (
      <div className={`${COMPARE_CLASS}-body`}>
        {busy ? (
          <BusyNotice />
        ) : error ? (
          <p className="jp-workbench-error">{error}</p>
        ) : (
          <p>Loading the comparison…</p>
        )}
      </div>
    );
  }
  const labels = data.runs.map(runLabel);
  const runIds = data.runs.map(r => r.run_id);

  return (
    <div className={`${COMPARE_CLASS}-body`}>
      <div className={`${COMPARE_CLASS}-toolbar`}>
        <h2>Comparing {data.runs.length} runs</h2>
        <Button
          small
          minimal
          title="Reload"
          onClick={() => [setReloads, setVersion].forEach(bump => bump(v => v + 1))}
        >
          <refreshIcon.react tag="span" />
        </Button>
        {running && <span className="jp-workbench-note">live: a run is still going</span>}
        {busy && <BusyNotice />}
        {error && <span className="jp-workbench-error">{error}</span>}
      </div>
      {data.notebooks_differ && (
        <p className={`${COMPARE_CLASS}-warning`}>
          These runs come from different versions of their notebook: compare the sources below.
        </p>
      )}
      <Section title="Parameters" className={`${COMPARE_CLASS}-paramsSection`}>
        <ParamsTable data={data} />
      </Section>
      {data.datasets && data.datasets.rows.length > 0 && (
        <Section title="Data" className={`${COMPARE_CLASS}-datasets`}>
          <DatasetsTable data={data} />
        </Section>
      )}
      <Section title="Final metrics" className={`${COMPARE_CLASS}-metricsSection`}>
        <MetricsTable data={data} />
      </Section>
      <Section title="Metric curves" className={`${COMPARE_CLASS}-curvesSection`}>
        {comparison.curvesError ? (
          <p className="jp-workbench-error">{comparison.curvesError}</p>
        ) : (
          <Curves runIds={runIds} keys={comparison.curveKeys ?? []} version={reloads} live={live} />
        )}
      </Section>
      <Section title="Parallel coordinates" className={`${COMPARE_CLASS}-parallelSection`}>
        <ParallelCoordinates data={data} version={version} />
      </Section>
      <Section title="Parameter vs metric" className={`${COMPARE_CLASS}-scatterSection`}>
        <Scatter data={data} version={version} />
      </Section>
      <Section title="Cell source" className={`${COMPARE_CLASS}-sourceSection`}>
        <SourceDiff sources={data.sources} labels={labels} />
      </Section>
      <Section title="Runs" className={`${COMPARE_CLASS}-detailsSection`}>
        <Details {...props} details={comparison.details} labels={labels} />
      </Section>
    </div>
  );
}

/**
 * Reload a comparison every {@link LIVE_RELOAD_MS} while a run is going, and tick after
 * each answer, naming the runs its charts poll: those running, and those that just
 * finished (for their last points). No tick for the first answer: the charts fetch their
 * curves whole then.
 *
 * @param data - The comparison's latest answer.
 * @param running - Whether one of its runs is running.
 * @param setVersion - Bumps the comparison's version (a reload).
 * @returns The tick and the runs to poll.
 */
function useLive(
  data: ICompareReply | null,
  running: boolean,
  setVersion: React.Dispatch<React.SetStateAction<number>>
): ILiveTick {
  React.useEffect(() => {
    if (!running) {
      return; // A comparison of finished runs is not polled.
    }
    const timer = window.setInterval(() => setVersion(v => v + 1), LIVE_RELOAD_MS);
    return () => window.clearInterval(timer);
  }, [running, setVersion]);
  const previous = React.useRef<ICompareReply | null>(null);
  const [live, setLive] = React.useState<ILiveTick>({ tick: 0, runIds: [] });
  React.useEffect(() => {
    const before = previous.current;
    previous.current = data;
    if (!data || !before) {
      return;
    }
    const runIds = liveRunIds(before, data);
    if (runIds.length > 0) {
      setLive(l => ({ tick: l.tick + 1, runIds }));
    }
  }, [data]);
  return live;
}
