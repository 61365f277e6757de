/**
 * The Workbench side panel: store, experiment, filter, actions, the runs table, the
 * detail (and lineage) of the selected run, and the registered models.
 */
import * as React from 'react';
import {
  Button,
  CommandToolbarButton,
  filterIcon,
  HTMLSelect,
  InputGroup,
  ReactWidget,
  SidePanel,
  tableRowsIcon
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { BusyNotice } from './components/BusyNotice';
import { ColumnChooser } from './components/ColumnChooser';
import { Models } from './components/Models';
import { RunDetail, RunDetailTab, useRunDetail } from './components/RunDetail';
import { RunsTable } from './components/runs';
import { useSignal } from './hooks';
import { workbenchIcon } from './icons';
import { RunsModel } from './model';
import { CommandIDs, ICardFile, IInfo } from './tokens';

/** The id of the side panel widget (its tab has `data-id="workbench-panel"`). */
export const RUNS_PANEL_ID = 'workbench-panel';
/** CSS class of the side panel. */
export const RUNS_PANEL_CLASS = 'jp-workbench-RunsPanel';

/**
 * Props of {@link RunsView}.
 */
export interface IRunsViewProps {
  model: RunsModel;
  info: IInfo;
  commands: CommandRegistry;
  /** Opens a notebook by contents path; without it no "Open notebook" button shows. */
  openNotebook?: (path: string) => void;
  /** Opens an HTML model card in a main-area tab; cards are only downloaded without it. */
  openCard?: (card: ICardFile, runId: string) => void;
  /** Opens a run's lineage in a main-area tab. */
  openLineage?: (runId: string) => void;
}

function FilterBox(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const [draft, setDraft] = React.useState(model.query.filter);
  const error = model.filterError;
  const pending = draft.trim() !== model.query.filter;
  return (
    <div className={`${RUNS_PANEL_CLASS}-filterBox`}>
      <InputGroup
        className={`${RUNS_PANEL_CLASS}-filter`}
        type="text"
        rightIcon={filterIcon}
        placeholder="metrics.rmse < 50 and params.model = 'ridge'"
        title="MLflow search syntax; Enter applies, Escape reverts"
        aria-label="Filter runs"
        aria-invalid={error !== null}
        spellCheck={false}
        value={draft}
        onChange={event => setDraft(event.currentTarget.value)}
        onKeyDown={event => {
          if (event.key === 'Enter') {
            void model.setFilter(draft);
          } else if (event.key === 'Escape') {
            setDraft(model.query.filter);
          }
        }}
      />
      {error ? (
        <div className={`${RUNS_PANEL_CLASS}-filterError`} role="alert">
          {error}
        </div>
      ) : (
        pending && <div className={`${RUNS_PANEL_CLASS}-hint`}>Press Enter to apply</div>
      )}
    </div>
  );
}

function ExperimentPicker(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const current = model.requestedQuery.experiment;
  const options = [
    { label: 'All experiments', value: '' },
    ...model.experiments.map(e => ({ label: `${e.name} (${e.runs})`, value: e.name }))
  ];
  if (current && !model.experiments.some(e => e.name === current)) {
    options.push({ label: current, value: current });
  }
  return (
    <HTMLSelect
      className={`${RUNS_PANEL_CLASS}-experiment`}
      aria-label="Experiment"
      value={current}
      options={options}
      onChange={event => void model.setExperiment(event.currentTarget.value)}
    />
  );
}

function Actions(props: IRunsViewProps & { onColumns: () => void }): JSX.Element {
  const { model, commands } = props;
  const n = model.selection.length;
  const run = (id: string) => () => void commands.execute(id);
  return (
    <div className={`${RUNS_PANEL_CLASS}-actions`}>
      <Button
        small
        className={`${RUNS_PANEL_CLASS}-compare`}
        disabled={!commands.isEnabled(CommandIDs.compareSelected)}
        title="Compare the selected runs (select two or more with Ctrl/Cmd- or Shift-click)"
        onClick={run(CommandIDs.compareSelected)}
      >
        Compare{n >= 2 ? ` (${n})` : ''}
      </Button>
      <Button
        small
        minimal
        className={`${RUNS_PANEL_CLASS}-rerun`}
        disabled={!commands.isEnabled(CommandIDs.rerunSelected)}
        title="Run the selected run's notebook again with new parameters"
        onClick={run(CommandIDs.rerunSelected)}
      >
        Rerun
      </Button>
      <Button
        small
        minimal
        className={`${RUNS_PANEL_CLASS}-delete`}
        disabled={!commands.isEnabled(CommandIDs.deleteSelected)}
        title="Delete the selected runs (they can be restored)"
        onClick={run(CommandIDs.deleteSelected)}
      >
        Delete
      </Button>
      <Button
        small
        minimal
        className={`${RUNS_PANEL_CLASS}-restore`}
        disabled={!commands.isEnabled(CommandIDs.restoreSelected)}
        title="Restore the selected deleted runs"
        onClick={run(CommandIDs.restoreSelected)}
      >
        Restore
      </Button>
      <Button
        small
        minimal
        className={`${RUNS_PANEL_CLASS}-columns`}
        title="Choose the parameter and metric columns"
        onClick={props.onColumns}
      >
        <tableRowsIcon.react tag="span" className={`${RUNS_PANEL_CLASS}-buttonIcon`} />
        Columns
      </Button>
    </div>
  );
}

function SelectedRun(props: IRunsViewProps & { runId: string }): JSX.Element {
  const { model, runId } = props;
  const row = model.runById(runId);
  // Kept here, not in RunDetail: following the lineage to another run stays on Lineage.
  const [tab, setTab] = React.useState<RunDetailTab>('details');
  const openRun = React.useCallback((id: string) => model.setSelection([id]), [model]);
  // Refetch when the row shows the run changed (e.g. it finished).
  const { detail, error, busy } = useRunDetail(runId, row ? `${row.status}:${row.end_time}` : '');
  React.useEffect(() => {
    if (detail) {
      model.markDeleted([detail.run_id], detail.deleted);
    }
  }, [model, detail]);
  return (
    <div className={`${RUNS_PANEL_CLASS}-detail`}>
      {busy && <BusyNotice />}
      {error && <div className="jp-workbench-error">{error}</div>}
      {detail && (
        <RunDetail
          detail={detail}
          openNotebook={props.openNotebook}
          openCard={props.openCard}
          openLineage={props.openLineage}
          openRun={openRun}
          tab={tab}
          onTabChange={setTab}
          showValues
        />
      )}
      {!detail && !error && !busy && <div className="jp-workbench-note">Loading…</div>}
    </div>
  );
}

/**
 * The panel's content.
 *
 * @param props - Model, server info, commands and a notebook opener.
 * @returns The panel's React tree.
 */
export function RunsView(props: IRunsViewProps): JSX.Element {
  const { model, info } = props;
  useSignal(model.changed);
  const [choosing, setChoosing] = React.useState(false);
  const closeChooser = React.useCallback(() => setChoosing(false), []);
  const selection = model.selection;
  const openRun = React.useCallback((id: string) => model.setSelection([id]), [model]);

  return (
    <div className={`${RUNS_PANEL_CLASS}-view`}>
      <div className={`${RUNS_PANEL_CLASS}-store`} title={`Store: ${info.store}`}>
        <span className={`${RUNS_PANEL_CLASS}-storeLabel`}>Store</span>
        <code className={`${RUNS_PANEL_CLASS}-storePath`}>
          {/* ltr inside an rtl box: the ellipsis goes at the start, the slashes stay put. */}
          <bdi dir="ltr">{info.store}</bdi>
        </code>
      </div>
      <div className={`${RUNS_PANEL_CLASS}-row`}>
        <ExperimentPicker model={model} />
        <label className={`${RUNS_PANEL_CLASS}-showDeleted`} title="Include deleted runs">
          <input
            type="checkbox"
            checked={model.requestedQuery.deleted}
            onChange={event => void model.setShowDeleted(event.currentTarget.checked)}
          />
          deleted
        </label>
      </div>
      <FilterBox model={model} />
      <Actions {...props} onColumns={() => setChoosing(c => !c)} />
      {choosing && <ColumnChooser model={model} onClose={closeChooser} />}
      <div className={`${RUNS_PANEL_CLASS}-status`}>
        <span className={`${RUNS_PANEL_CLASS}-count`}>
          {model.total.toLocaleString()} run{model.total === 1 ? '' : 's'}
        </span>
        {selection.length > 0 && (
          <>
            <span> · {selection.length} selected </span>
            <button className={`${RUNS_PANEL_CLASS}-clear`} onClick={() => model.setSelection([])}>
              clear
            </button>
          </>
        )}
      </div>
      {model.busy && <BusyNotice />}
      {model.error && (
        <div className={`${RUNS_PANEL_CLASS}-error`} role="alert">
          {model.error}
        </div>
      )}
      <RunsTable
        model={model}
        onActivate={() => void props.commands.execute(CommandIDs.compareSelected)}
      />
      {selection.length === 1 && <SelectedRun {...props} runId={selection[0]} />}
      <Models openRun={openRun} />
    </div>
  );
}

/**
 * The side panel widget: a SidePanel with Refresh and Download CSV in its toolbar and
 * {@link RunsView} as its content.
 */
export class RunsPanel extends SidePanel {
  /**
   * Create the panel.
   *
   * @param options - Model, server info, commands, and notebook and card openers.
   */
  constructor(options: IRunsViewProps) {
    super({ content: new Panel() });
    this.id = RUNS_PANEL_ID;
    this.addClass(RUNS_PANEL_CLASS);
    this.title.icon = workbenchIcon;
    this.title.caption = 'Workbench';

    const heading = new Widget();
    heading.node.textContent = 'Workbench';
    heading.addClass('jp-text-truncated');
    heading.node.setAttribute('role', 'heading');
    heading.node.setAttribute('aria-level', '2');
    this.header.addWidget(heading);

    for (const id of [CommandIDs.refresh, CommandIDs.downloadCsv]) {
      this.toolbar.addItem(
        id.split(':')[1],
        // Icon only: the command's label is for the palette; its caption is the tooltip.
        new CommandToolbarButton({ commands: options.commands, id, label: '' })
      );
    }

    const content = ReactWidget.create(<RunsView {...options} />);
    content.addClass(`${RUNS_PANEL_CLASS}-content`);
    this.addWidget(content);
    this._model = options.model;
  }

  /** The model's poll stands by while the panel is hidden: catch up when shown. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._model.refresh();
  }

  private _model: RunsModel;
}
