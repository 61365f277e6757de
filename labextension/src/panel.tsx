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
import { isNameSearch } from './format';
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
  /** Opens a notebook by contents path (scrolled to a cell); no "Open notebook" without it. */
  openNotebook?: (path: string, cellIndex?: number | null) => void;
  /** Renders a run's Markdown description. */
  renderMarkdown?: (text: string, host: HTMLElement) => Promise<void>;
  /** Opens an HTML model card in a main-area tab; cards are only downloaded without it. */
  openCard?: (card: ICardFile, runId: string) => void;
  /** Opens a run's lineage in a main-area tab. */
  openLineage?: (runId: string) => void;
}

function FilterBox(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const applied = model.filterText;
  const [draft, setDraft] = React.useState(applied);
  // A filter set from elsewhere (restored state) shows in the box.
  const [shown, setShown] = React.useState(applied);
  if (shown !== applied) {
    setShown(applied);
    setDraft(applied);
  }
  const error = model.filterError;
  const pending = draft.trim() !== applied;
  const nameSearch = !pending && !error && isNameSearch(applied);
  return (
    <div className={`${RUNS_PANEL_CLASS}-filterBox`}>
      <InputGroup
        className={`${RUNS_PANEL_CLASS}-filter`}
        type="text"
        rightIcon={filterIcon}
        placeholder="Run name, or metrics.rmse < 50 and params.model = 'ridge'"
        title={
          "Plain words search run names (attributes.run_name ILIKE '%words%'); " +
          'anything with an operator is a filter in MLflow search syntax. ' +
          'Enter applies, Escape reverts.'
        }
        aria-label="Filter runs"
        aria-invalid={error !== null}
        spellCheck={false}
        value={draft}
        onChange={event => setDraft(event.currentTarget.value)}
        onKeyDown={event => {
          if (event.key === 'Enter') {
            void model.setFilter(draft);
          } else if (event.key === 'Escape') {
            setDraft(applied);
          }
        }}
      />
      {error ? (
        <div className={`${RUNS_PANEL_CLASS}-filterError`} role="alert">
          {error}
        </div>
      ) : pending ? (
        <div className={`${RUNS_PANEL_CLASS}-hint`}>
          {isNameSearch(draft)
            ? 'Enter searches run names for this text'
            : 'Press Enter to apply the filter'}
        </div>
      ) : (
        nameSearch && (
          <div className={`${RUNS_PANEL_CLASS}-hint`} data-filter={model.query.filter}>
            Run names containing “{applied}” <code>{model.query.filter}</code>
          </div>
        )
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

/** CSS class around the Columns button: presses there toggle the chooser. */
const COLUMNS_TOGGLE_CLASS = `${RUNS_PANEL_CLASS}-columnsToggle`;

/** "Group by": nothing, the experiment, the sweep, or a parameter that differs. */
function GroupPicker(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const summary = model.columnSummary;
  const params = summary
    ? summary.params.filter(p => !p.constant && !p.duplicate_of).map(p => p.name)
    : model.visibleParams;
  const options = [
    { label: 'No groups', value: '' },
    { label: 'Group: experiment', value: 'experiment' },
    { label: 'Group: sweep', value: 'sweep' },
    ...params.map(name => ({ label: `Group: ${name}`, value: `param:${name}` }))
  ];
  const current = model.groupBy;
  if (current && !options.some(o => o.value === current)) {
    options.push({ label: `Group: ${current.replace(/^param:/, '')}`, value: current });
  }
  return (
    <HTMLSelect
      className={`${RUNS_PANEL_CLASS}-groupBy`}
      aria-label="Group runs by"
      title="Group the runs by experiment, sweep or a parameter; each group shows its count and best value"
      value={current}
      options={options}
      onChange={event => model.setGroupBy(event.currentTarget.value)}
    />
  );
}

function Actions(
  props: IRunsViewProps & {
    onColumns: () => void;
    choosing: boolean;
  }
): JSX.Element {
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
      {/* A wrapper the chooser knows: a press on the button toggles, not "click outside". */}
      <div className={COLUMNS_TOGGLE_CLASS}>
        <Button
          small
          minimal
          className={`${RUNS_PANEL_CLASS}-columns`}
          aria-expanded={props.choosing}
          title="Choose the parameter and metric columns"
          onClick={props.onColumns}
        >
          <tableRowsIcon.react tag="span" className={`${RUNS_PANEL_CLASS}-buttonIcon`} />
          Columns
        </Button>
      </div>
    </div>
  );
}

function SelectedRun(
  props: IRunsViewProps & { runId: string; onRegistered: () => void }
): JSX.Element {
  const { model, runId } = props;
  const row = model.runById(runId);
  // Kept here, not in RunDetail: following the lineage to another run stays on Lineage.
  const [tab, setTab] = React.useState<RunDetailTab>('details');
  const openRun = React.useCallback((id: string) => model.setSelection([id]), [model]);
  // Refetch when the row shows the run changed (it finished, it was deleted or restored).
  const deleted = model.isDeleted(runId);
  const { detail, error, busy } = useRunDetail(
    runId,
    `${row ? `${row.status}:${row.end_time}` : ''}:${deleted}`
  );
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
          detail={{ ...detail, deleted }}
          openNotebook={props.openNotebook}
          renderMarkdown={props.renderMarkdown}
          onRegistered={props.onRegistered}
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

/** "3 constant hidden · show": one click shows the params with one value everywhere. */
function ConstantToggle(props: { model: RunsModel }): JSX.Element | null {
  const { model } = props;
  const n = model.constantParams.length;
  if (n === 0) {
    return null;
  }
  const names = model.constantParams.join(', ');
  return (
    <span className={`${RUNS_PANEL_CLASS}-constant`}>
      {' · '}
      <button
        className={`${RUNS_PANEL_CLASS}-showConstant`}
        aria-pressed={model.showConstant}
        title={`${model.showConstant ? 'Hide' : 'Show'} the parameters with the same value in every run: ${names}`}
        onClick={() => model.setShowConstant(!model.showConstant)}
      >
        {model.showConstant ? `hide ${n} constant` : `${n} constant hidden`}
      </button>
    </span>
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
  const refreshAliases = React.useCallback(() => void model.refreshAliases(), [model]);
  const [modelsVersion, setModelsVersion] = React.useState(0);
  const registered = React.useCallback(() => {
    setModelsVersion(v => v + 1);
    void model.refreshAliases();
  }, [model]);

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
        <GroupPicker model={model} />
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
      <Actions {...props} choosing={choosing} onColumns={() => setChoosing(c => !c)} />
      {choosing && (
        <ColumnChooser model={model} onClose={closeChooser} ignore={`.${COLUMNS_TOGGLE_CLASS}`} />
      )}
      <div className={`${RUNS_PANEL_CLASS}-status`}>
        <span className={`${RUNS_PANEL_CLASS}-count`}>
          {model.total.toLocaleString()} run{model.total === 1 ? '' : 's'}
        </span>
        <ConstantToggle model={model} />
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
      {selection.length === 1 && (
        <SelectedRun {...props} runId={selection[0]} onRegistered={registered} />
      )}
      <Models openRun={openRun} onChanged={refreshAliases} version={modelsVersion} />
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
