/**
 * Everything recorded about one run: status, context (notebook, git, environment),
 * description and tags (editable), error, values, source cell, artifacts (download,
 * preview, open); its metric charts, its lineage and (for a tune's trial) the tune's
 * optimisation history in other tabs; buttons that open
 * the run's notebook (today's file, its snapshot or its executed output) and export its
 * model card.
 */
import * as React from 'react';

import { copyNotebook, errorMessage, getRun } from '../api';
import { formatDuration, formatMetric, formatTimestamp, shortId } from '../format';
import { useRequest } from '../hooks';
import { isSystemMetric, SYSTEM_GROUP, systemLabel } from '../metricGroups';
import { contentsPath } from '../paths';
import { ICardFile, IRunDetail } from '../tokens';
import { OriginBadge, StatusBadge } from './Badges';
import { Artifacts } from './detail/Artifacts';
import { NotebookOpener, OpenNotebook } from './detail/OpenNotebook';
import { RegisterModel } from './detail/RegisterModel';
import { RunCharts } from './detail/RunCharts';
import { MarkdownRenderer, RunTags } from './detail/RunTags';
import { TuneHistory } from './detail/TuneHistory';
import { ExportCard } from './ExportCard';
import { Lineage } from './Lineage';

/** CSS class of the detail view. */
export const RUN_DETAIL_CLASS = 'jp-workbench-RunDetail';

/**
 * Props of {@link RunDetail}.
 */
export interface IRunDetailProps {
  detail: IRunDetail;
  /** Opens a notebook by contents path (scrolled to a cell); no button without it. */
  openNotebook?: NotebookOpener;
  /** Renders the description's Markdown; it shows as plain text without one. */
  renderMarkdown?: MarkdownRenderer;
  /** Called after the run's model was registered (badges, the models list). */
  onRegistered?: () => void;
  /** Also list params and metrics (the side panel; the comparison has tables for them). */
  showValues?: boolean;
  /** Shows another run's detail (from the lineage); lineage runs are inert without it. */
  openRun?: (runId: string) => void;
  /** Opens an HTML model card in a main-area tab; cards are only downloaded without it. */
  openCard?: (card: ICardFile, runId: string) => void;
  /** Opens a run's lineage in a main-area tab. */
  openLineage?: (runId: string) => void;
  /** The tab shown, when the parent keeps it (so it survives a change of run). */
  tab?: RunDetailTab;
  /** Called when the user picks a tab; required with `tab`. */
  onTabChange?: (tab: RunDetailTab) => void;
}

/** The tabs of the run detail. */
export type RunDetailTab = 'details' | 'charts' | 'lineage' | 'tune';

const TABS: { tab: RunDetailTab; label: string }[] = [
  { tab: 'details', label: 'Details' },
  { tab: 'charts', label: 'Charts' },
  { tab: 'lineage', label: 'Lineage' },
  { tab: 'tune', label: 'Tune' }
];

function Field(props: { label: string; children: React.ReactNode }): JSX.Element | null {
  if (props.children === null || props.children === undefined || props.children === '') {
    return null;
  }
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

function KeyValues(props: {
  title: string;
  values: { [key: string]: string };
}): JSX.Element | null {
  const keys = Object.keys(props.values).sort();
  if (keys.length === 0) {
    return null;
  }
  return (
    <details className={`${RUN_DETAIL_CLASS}-values`} open>
      <summary>
        {props.title} ({keys.length})
      </summary>
      <table>
        <tbody>
          {keys.map(key => (
            <tr key={key}>
              <th title={key}>{key}</th>
              <td title={props.values[key]}>{props.values[key]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** The recorded facts of a run, as a definition list. */
function RunFields(props: { detail: IRunDetail; notebook: string | null }): JSX.Element {
  const { detail, notebook } = props;
  const ctx = detail.context ?? {};
  const git = ctx.git_commit
    ? `${String(ctx.git_commit).slice(0, 10)}${ctx.git_branch ? ` (${ctx.git_branch})` : ''}${
        ctx.git_dirty ? ', uncommitted changes' : ''
      }`
    : '';
  return (
    <dl>
      <Field label="Run id">
        <code>{detail.run_id}</code>
      </Field>
      <Field label="Experiment">{detail.experiment}</Field>
      <Field label="Started">{formatTimestamp(detail.start_time)}</Field>
      <Field label="Duration">
        {detail.end_time === null ? 'running' : formatDuration(detail.duration_s)}
      </Field>
      <Field label="Parent">
        {detail.parent_run_id ? <code>{shortId(detail.parent_run_id)}</code> : null}
      </Field>
      <Field label="Reruns">
        {detail.children.length > 0 ? detail.children.map(shortId).join(', ') : null}
      </Field>
      <Field label="Notebook">
        {ctx.notebook_path && ctx.notebook_path !== 'unknown' ? (
          <span title={String(ctx.notebook_path)}>
            {notebook ?? String(ctx.notebook_path)}
            {typeof ctx.execution_count === 'number' ? ` [${ctx.execution_count}]` : ''}
          </span>
        ) : null}
      </Field>
      <Field label="Git">{git}</Field>
      <Field label="Python">{ctx.python_version ?? null}</Field>
      <Field label="Host">{ctx.host ?? null}</Field>
    </dl>
  );
}

/** The Details tab: facts, description and tags, error, values, source cell, artifacts. */
function DetailsTab(props: {
  detail: IRunDetail;
  notebook: string | null;
  showValues?: boolean;
  renderMarkdown?: MarkdownRenderer;
  onTagsChanged: (tags: { [key: string]: string }) => void;
  onOpenOutput?: () => void;
}): JSX.Element {
  const { detail, showValues } = props;
  const source = detail.context?.cell_source;
  const metrics: { [key: string]: string } = {};
  const system: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(detail.metrics)) {
    // System metrics (CPU, memory, GPU) apart from the model's, in the System group.
    (isSystemMetric(key) ? system : metrics)[systemLabel(key)] = formatMetric(value);
  }
  return (
    <div className={`${RUN_DETAIL_CLASS}-details`} role="tabpanel">
      <RunFields detail={detail} notebook={props.notebook} />
      <RunTags
        runId={detail.run_id}
        tags={detail.tags}
        onChanged={props.onTagsChanged}
        renderMarkdown={props.renderMarkdown}
      />
      {detail.error && <pre className={`${RUN_DETAIL_CLASS}-error`}>{detail.error}</pre>}
      {showValues && <KeyValues title="Parameters" values={detail.params} />}
      {showValues && <KeyValues title="Metrics" values={metrics} />}
      {showValues && <KeyValues title={SYSTEM_GROUP} values={system} />}
      {source && (
        <details className={`${RUN_DETAIL_CLASS}-source`} open={!showValues}>
          <summary>Source cell</summary>
          <pre>{source}</pre>
        </details>
      )}
      <Artifacts
        runId={detail.run_id}
        artifacts={detail.artifacts}
        onOpenOutputNotebook={props.onOpenOutput}
      />
    </div>
  );
}

/** The tab bar; the Tune tab only for a run of a tune. */
function TabBar(props: {
  tab: RunDetailTab;
  onChange: (tab: RunDetailTab) => void;
  isTrial: boolean;
}): JSX.Element {
  return (
    <div className={`${RUN_DETAIL_CLASS}-tabs`} role="tablist">
      {TABS.filter(t => t.tab !== 'tune' || props.isTrial).map(t => (
        <button
          key={t.tab}
          role="tab"
          aria-selected={t.tab === props.tab}
          data-tab={t.tab}
          className={`${RUN_DETAIL_CLASS}-tab${t.tab === props.tab ? ' jp-mod-active' : ''}`}
          onClick={() => props.onChange(t.tab)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** The content of the chosen tab. */
function TabContent(props: {
  tab: RunDetailTab;
  detail: IRunDetail;
  tuneId: string | null;
  notebook: string | null;
  parent: IRunDetailProps;
  onTagsChanged: (tags: { [key: string]: string }) => void;
  onOpenOutput?: () => void;
}): JSX.Element {
  const { tab, detail, tuneId, notebook, parent, onTagsChanged, onOpenOutput } = props;
  return (
    <>
      {tab === 'tune' && tuneId && (
        <TuneHistory
          tuneId={tuneId}
          runId={detail.run_id}
          version={`${detail.status}:${detail.end_time}`}
          openRun={parent.openRun}
        />
      )}
      {tab === 'lineage' && (
        <div className={`${RUN_DETAIL_CLASS}-lineage`} role="tabpanel">
          <Lineage runId={detail.run_id} openRun={parent.openRun} openInTab={parent.openLineage} />
        </div>
      )}
      {tab === 'charts' && (
        <RunCharts runId={detail.run_id} version={`${detail.status}:${detail.end_time}`} />
      )}
      {tab === 'details' && (
        <DetailsTab
          detail={detail}
          notebook={notebook}
          showValues={parent.showValues}
          renderMarkdown={parent.renderMarkdown}
          onTagsChanged={onTagsChanged}
          onOpenOutput={onOpenOutput}
        />
      )}
    </>
  );
}

/**
 * One run's detail: a Details tab and a Lineage tab, with notebook and card actions.
 *
 * @param props - The run, optional openers (notebook, other runs, cards) and the tab.
 * @returns The detail view.
 */
export function RunDetail(props: IRunDetailProps): JSX.Element {
  const { openNotebook, openCard } = props;
  // Tags edited here show at once, until the next fetch of the detail brings them.
  const [edited, setEdited] = React.useState<{
    runId: string;
    tags: { [key: string]: string };
  } | null>(null);
  const detail =
    edited && edited.runId === props.detail.run_id
      ? { ...props.detail, tags: edited.tags }
      : props.detail;
  const onTagsChanged = React.useCallback(
    (tags: { [key: string]: string }) => setEdited({ runId: props.detail.run_id, tags }),
    [props.detail.run_id]
  );
  const [openError, setOpenError] = React.useState<string | null>(null);
  const notebook = contentsPath(detail.context?.notebook_path);
  const [ownTab, setOwnTab] = React.useState<RunDetailTab>('details');
  const tuneId = detail.tags?.tune_id ?? null;
  // The tab kept by the parent may be Tune while another run without one is shown.
  const chosen = props.tab ?? ownTab;
  const tab = chosen === 'tune' && !tuneId ? 'details' : chosen;
  const onOpenOutput = openNotebook
    ? () => {
        copyNotebook(detail.run_id, 'output')
          .then(reply => openNotebook(reply.path, reply.cell_index))
          .catch(reason => setOpenError(errorMessage(reason)));
      }
    : undefined;

  return (
    <div className={RUN_DETAIL_CLASS} data-run-id={detail.run_id}>
      <div className={`${RUN_DETAIL_CLASS}-title`}>
        <StatusBadge status={detail.status} />
        <span className={`${RUN_DETAIL_CLASS}-name`}>
          {detail.run_name || shortId(detail.run_id)}
        </span>
        <OriginBadge origin={detail.origin} />
        {detail.deleted && <span className="jp-workbench-DeletedBadge">deleted</span>}
      </div>
      <div className={`${RUN_DETAIL_CLASS}-actions`}>
        {openNotebook && (
          <OpenNotebook
            key={detail.run_id}
            detail={detail}
            current={notebook}
            openNotebook={openNotebook}
          />
        )}
        <RegisterModel
          key={`register-${detail.run_id}`}
          detail={detail}
          onRegistered={props.onRegistered}
        />
        <ExportCard
          key={detail.run_id}
          runId={detail.run_id}
          openCard={openCard ? card => openCard(card, detail.run_id) : undefined}
        />
      </div>
      {openError && <div className="jp-workbench-error">{openError}</div>}
      <TabBar tab={tab} onChange={props.onTabChange ?? setOwnTab} isTrial={tuneId !== null} />
      <TabContent
        tab={tab}
        detail={detail}
        tuneId={tuneId}
        notebook={notebook}
        parent={props}
        onTagsChanged={onTagsChanged}
        onOpenOutput={onOpenOutput}
      />
    </div>
  );
}

/**
 * Fetch a run's detail, again whenever `version` changes.
 *
 * @param runId - The run, or null for none.
 * @param version - Anything that changes when the run may have changed (e.g. its status).
 * @returns The detail (kept while a refetch is in flight), the error message, and
 *   whether the store is busy (the request is then retried).
 */
export function useRunDetail(
  runId: string | null,
  version: string
): { detail: IRunDetail | null; error: string | null; busy: boolean } {
  const { data, isStale, error, busy } = useRequest(runId, () => getRun(runId ?? ''), version);
  // A detail of another run than asked for is stale: hide it until the new one arrives.
  return { detail: isStale || error ? null : data, error, busy };
}
