/**
 * The comparison of two or more runs, opened in the main area: parameter diff, the data
 * they used, final metrics, metric curves, parallel coordinates, source diff and each
 * run's detail.
 */
import * as React from 'react';
import { Button, HTMLSelect, ReactWidget, refreshIcon } from '@jupyterlab/ui-components';

import { compareRuns, errorMessage, getMetrics, getRun } from './api';
import { curvesSpec, IDimension, parallelSpec } from './charts';
import { OriginBadge, StatusBadge } from './components/Badges';
import { RunDetail } from './components/RunDetail';
import { SourceDiff } from './components/SourceDiff';
import { VegaChart } from './components/VegaChart';
import { formatMetric, runLabel, shortId } from './format';
import { workbenchIcon } from './icons';
import { ICardFile, ICompareReply, IDatasetRow, IMetricSeries, IRunDetail } from './tokens';

/** CSS class of the comparison widget's root node. */
export const COMPARE_CLASS = 'jp-workbench-Compare';

/** How often a comparison of running runs reloads, in ms. */
const LIVE_RELOAD_MS = 3000;

/** Points per curve requested from the server (it downsamples). */
const MAX_POINTS = 1000;

/**
 * A main-area widget comparing runs.
 */
export class CompareWidget extends ReactWidget {
  /**
   * Create a comparison.
   *
   * @param options - The run ids and a notebook opener.
   */
  constructor(options: CompareWidget.IOptions) {
    super();
    this.runIds = [...options.runIds];
    this._options = options;
    this.id = `workbench-compare-${this.runIds.map(shortId).join('-')}`;
    this.addClass(COMPARE_CLASS);
    this.title.label = `Compare ${this.runIds.length} runs`;
    this.title.caption = `Workbench: ${this.runIds.map(shortId).join(', ')}`;
    this.title.icon = workbenchIcon;
    this.title.closable = true;
  }

  /** The compared run ids, in column order. */
  readonly runIds: ReadonlyArray<string>;

  protected render(): JSX.Element {
    return <CompareView {...this._options} runIds={this.runIds} />;
  }

  private _options: CompareWidget.IOptions;
}

/**
 * The CompareWidget statics.
 */
export namespace CompareWidget {
  /** Options of a comparison. */
  export interface IOptions {
    runIds: ReadonlyArray<string>;
    /** Opens a notebook by contents path (from the document manager). */
    openNotebook?: (path: string) => void;
    /** Shows a run's detail in the side panel (from a run's lineage). */
    openRun?: (runId: string) => void;
    /** Opens an HTML model card in a main-area tab. */
    openCard?: (card: ICardFile, runId: string) => void;
    /** Opens a run's lineage in a main-area tab. */
    openLineage?: (runId: string) => void;
  }
}

interface ICompareState {
  data: ICompareReply | null;
  series: IMetricSeries[] | null;
  details: (IRunDetail | null)[];
  error: string | null;
  seriesError: string | null;
}

/** Fetch the comparison, the curves and every run's detail; keep old data while reloading. */
function useComparison(runIds: ReadonlyArray<string>, reloadKey: number): ICompareState {
  const [state, setState] = React.useState<ICompareState>({
    data: null,
    series: null,
    details: [],
    error: null,
    seriesError: null
  });
  React.useEffect(() => {
    let cancelled = false;
    const details = Promise.all(runIds.map(id => getRun(id).catch(() => null)));
    const series = getMetrics(runIds, undefined, MAX_POINTS).then(
      reply => ({ series: reply.series, seriesError: null }),
      (reason: unknown) => ({ series: null, seriesError: errorMessage(reason) })
    );
    compareRuns(runIds)
      .then(async data => {
        const [d, s] = await Promise.all([details, series]);
        if (!cancelled) {
          setState({ data, details: d, error: null, ...s });
        }
      })
      .catch((reason: unknown) => {
        if (!cancelled) {
          setState(old => ({ ...old, error: errorMessage(reason) }));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [runIds, reloadKey]);
  return state;
}

function Section(props: { title: string; className: string; children: React.ReactNode }): JSX.Element {
  return (
    <section className={`${COMPARE_CLASS}-section ${props.className}`}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}

function RunHeaders(props: { data: ICompareReply; first: string }): JSX.Element {
  return (
    <tr>
      <th>{props.first}</th>
      {props.data.runs.map(run => (
        <th key={run.run_id} title={run.run_id}>
          <div className={`${COMPARE_CLASS}-runName`}>{runLabel(run)}</div>
          <div className={`${COMPARE_CLASS}-runBadges`}>
            <StatusBadge status={run.status} />
            <OriginBadge origin={run.origin} />
          </div>
        </th>
      ))}
    </tr>
  );
}

function ParamsTable(props: { data: ICompareReply }): JSX.Element {
  const { data } = props;
  const differing = new Set(data.differing_params);
  const [onlyDiffering, setOnlyDiffering] = React.useState(false);
  const names = Object.keys(data.params).filter(n => !onlyDiffering || differing.has(n));
  return (
    <>
      <label className={`${COMPARE_CLASS}-toggle`}>
        <input
          type="checkbox"
          checked={onlyDiffering}
          onChange={event => setOnlyDiffering(event.currentTarget.checked)}
        />
        Only the {differing.size} that differ
      </label>
      <div className={`${COMPARE_CLASS}-tableScroll`}>
        <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-params`}>
          <thead>
            <RunHeaders data={data} first="parameter" />
          </thead>
          <tbody>
            {names.map(name => (
              <tr key={name} className={differing.has(name) ? 'jp-mod-differs' : ''}>
                <th title={name}>{name}</th>
                {data.params[name].map((value, i) => (
                  <td key={i} className={value === null ? 'jp-mod-missing' : ''}>
                    {value ?? '—'}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {names.length === 0 && <p className="jp-workbench-note">No parameters recorded.</p>}
    </>
  );
}

function MetricsTable(props: { data: ICompareReply }): JSX.Element {
  const { data } = props;
  const names = Object.keys(data.metrics);
  if (names.length === 0) {
    return <p className="jp-workbench-note">No metrics recorded.</p>;
  }
  return (
    <div className={`${COMPARE_CLASS}-tableScroll`}>
      <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-metrics`}>
        <thead>
          <RunHeaders data={data} first="metric" />
        </thead>
        <tbody>
          {names.map(name => (
            <tr key={name}>
              <th title={name}>{name}</th>
              {data.metrics[name].map((value, i) => {
                const best = data.best[name] === i;
                return (
                  <td
                    key={i}
                    className={`jp-mod-numeric${best ? ' jp-mod-best' : ''}${
                      value === null ? ' jp-mod-missing' : ''
                    }`}
                    title={best ? 'best of these runs' : String(value ?? '')}
                  >
                    {value === null ? '—' : formatMetric(value)}
                    {best && <span className={`${COMPARE_CLASS}-bestMark`}> ★</span>}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Whether each run's hash stands out: differs from the most common hash of the row. */
function oddHashes(hashes: (string | null)[]): boolean[] {
  const counts = new Map<string | null, number>();
  for (const h of hashes) {
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  const top = Math.max(...counts.values());
  const common = [...counts.entries()].filter(([, n]) => n === top);
  // With no single most common hash (e.g. two runs, two hashes) every one stands out.
  const baseline = common.length === 1 ? common[0][0] : undefined;
  return hashes.map(h => baseline === undefined || h !== baseline);
}

function DriftTable(props: { row: IDatasetRow; labels: string[] }): JSX.Element {
  const { row, labels } = props;
  return (
    <details className={`${COMPARE_CLASS}-drift`} open={row.drift.length <= 20}>
      <summary>
        Column statistics that differ ({row.drift.length})
      </summary>
      <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-driftTable`}>
        <thead>
          <tr>
            <th>column</th>
            <th>stat</th>
            {labels.map((label, i) => (
              <th key={i}>{label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {row.drift.map(d => (
            <tr key={`${d.column}:${d.stat}`}>
              <th title={d.column}>{d.column}</th>
              <td>{d.stat}</td>
              {d.values.map((value, i) => (
                <td key={i} className={`jp-mod-numeric${value === null ? ' jp-mod-missing' : ''}`}>
                  {value === null ? '—' : formatMetric(value)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function DatasetsTable(props: { data: ICompareReply }): JSX.Element {
  const { data } = props;
  const datasets = data.datasets!;
  const labels = data.runs.map(runLabel);
  const width = data.runs.length + 1;
  return (
    <>
      {datasets.differ && (
        <p className={`${COMPARE_CLASS}-warning ${COMPARE_CLASS}-dataWarning`} role="status">
          These runs trained on different data.
        </p>
      )}
      <div className={`${COMPARE_CLASS}-tableScroll`}>
        <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-datasetsTable`}>
          <thead>
            <RunHeaders data={data} first="dataset" />
          </thead>
          <tbody>
            {datasets.rows.map(row => {
              const odd = row.same ? row.sha256.map(() => false) : oddHashes(row.sha256);
              return (
                <React.Fragment key={`${row.role}:${row.name}`}>
                  <tr className={row.same ? '' : 'jp-mod-differs'} data-dataset={row.name}>
                    <th title={row.name}>
                      {row.name}
                      <span className={`${COMPARE_CLASS}-role`}>{row.role}</span>
                    </th>
                    {row.sha256.map((sha, i) => {
                      const count = row.rows[i];
                      return (
                        <td
                          key={i}
                          className={`${sha === null ? 'jp-mod-missing' : ''}${
                            odd[i] ? ' jp-mod-oddHash' : ''
                          }`}
                          title={sha ? `sha256 ${sha}` : 'not used by this run'}
                        >
                          {sha === null ? (
                            '—'
                          ) : (
                            <>
                              <code className={`${COMPARE_CLASS}-hash`}>{sha.slice(0, 8)}</code>
                              {count !== null && count !== undefined && (
                                <span className={`${COMPARE_CLASS}-rowCount`}>
                                  {' '}
                                  {count.toLocaleString()} row{count === 1 ? '' : 's'}
                                </span>
                              )}
                            </>
                          )}
                        </td>
                      );
                    })}
                  </tr>
                  {row.drift.length > 0 && (
                    <tr className={`${COMPARE_CLASS}-driftRow`}>
                      <td colSpan={width}>
                        <DriftTable row={row} labels={labels} />
                      </td>
                    </tr>
                  )}
                </React.Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Curves(props: {
  series: IMetricSeries[];
  labelOf: (runId: string) => string;
  labels: string[];
}): JSX.Element {
  const byKey = new Map<string, IMetricSeries[]>();
  for (const s of props.series) {
    byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
  }
  // A metric logged once per run is a final value: the metrics table shows it better.
  const keys = [...byKey.keys()].filter(k => byKey.get(k)!.some(s => s.steps.length > 1)).sort();
  if (keys.length === 0) {
    return <p className="jp-workbench-note">No metric was logged at more than one step.</p>;
  }
  return (
    <div className={`${COMPARE_CLASS}-charts`}>
      {keys.map(key => (
        <VegaChart
          key={key}
          label={`${key} by step`}
          spec={curvesSpec(key, byKey.get(key)!, props.labelOf, props.labels)}
        />
      ))}
    </div>
  );
}

function ParallelCoordinates(props: { data: ICompareReply; labels: string[] }): JSX.Element {
  const { data, labels } = props;
  const metricNames = Object.keys(data.metrics);
  const [metric, setMetric] = React.useState<string>(
    Object.keys(data.best)[0] ?? metricNames[0] ?? ''
  );
  const paramNames = data.differing_params.length > 0 ? data.differing_params : [];
  if (paramNames.length === 0) {
    return <p className="jp-workbench-note">These runs have the same parameters.</p>;
  }
  const dimensions: IDimension[] = paramNames.map(name => ({ name, values: data.params[name] }));
  if (metric && data.metrics[metric]) {
    dimensions.push({ name: metric, values: data.metrics[metric] });
  }
  return (
    <>
      {metricNames.length > 0 && (
        <label className={`${COMPARE_CLASS}-toggle`}>
          Metric axis:{' '}
          <HTMLSelect
            className={`${COMPARE_CLASS}-metricPick`}
            value={metric}
            options={metricNames}
            onChange={event => setMetric(event.currentTarget.value)}
          />
        </label>
      )}
      <VegaChart
        label={`parallel coordinates of the differing parameters and ${metric}`}
        spec={parallelSpec(dimensions, labels)}
      />
    </>
  );
}

function Details(props: {
  details: (IRunDetail | null)[];
  labels: string[];
  openNotebook?: (path: string) => void;
  openRun?: (runId: string) => void;
  openCard?: (card: ICardFile, runId: string) => void;
  openLineage?: (runId: string) => void;
}): JSX.Element {
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

/**
 * The comparison's content.
 *
 * @param props - The run ids and a notebook opener.
 * @returns The comparison view.
 */
export function CompareView(props: CompareWidget.IOptions): JSX.Element {
  const [reloadKey, setReloadKey] = React.useState(0);
  const { data, series, details, error, seriesError } = useComparison(props.runIds, reloadKey);
  const running = data?.runs.some(r => r.status === 'running') ?? false;

  React.useEffect(() => {
    if (!running) {
      return;
    }
    const timer = window.setInterval(() => setReloadKey(k => k + 1), LIVE_RELOAD_MS);
    return () => window.clearInterval(timer);
  }, [running]);

  if (!data) {
    return (
      <div className={`${COMPARE_CLASS}-body`}>
        {error ? <p className="jp-workbench-error">{error}</p> : <p>Loading the comparison…</p>}
      </div>
    );
  }
  const labels = data.runs.map(runLabel);
  const labelById = new Map(data.runs.map((r, i) => [r.run_id, labels[i]]));
  const labelOf = (runId: string): string => labelById.get(runId) ?? shortId(runId);

  return (
    <div className={`${COMPARE_CLASS}-body`}>
      <div className={`${COMPARE_CLASS}-toolbar`}>
        <h2>Comparing {data.runs.length} runs</h2>
        <Button small minimal title="Reload" onClick={() => setReloadKey(k => k + 1)}>
          <refreshIcon.react tag="span" />
        </Button>
        {running && <span className="jp-workbench-note">live: a run is still going</span>}
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
        {seriesError ? (
          <p className="jp-workbench-error">{seriesError}</p>
        ) : series ? (
          <Curves series={series} labelOf={labelOf} labels={labels} />
        ) : (
          <p>Loading curves…</p>
        )}
      </Section>
      <Section title="Parallel coordinates" className={`${COMPARE_CLASS}-parallelSection`}>
        <ParallelCoordinates data={data} labels={labels} />
      </Section>
      <Section title="Cell source" className={`${COMPARE_CLASS}-sourceSection`}>
        <SourceDiff sources={data.sources} labels={labels} />
      </Section>
      <Section title="Runs" className={`${COMPARE_CLASS}-detailsSection`}>
        <Details
          details={details}
          labels={labels}
          openNotebook={props.openNotebook}
          openRun={props.openRun}
          openCard={props.openCard}
          openLineage={props.openLineage}
        />
      </Section>
    </div>
  );
}
