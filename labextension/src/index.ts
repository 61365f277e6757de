/**
 * The Workbench JupyterLab plugin: wiring only (commands, panel, restoration).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ServerConnection } from '@jupyterlab/services';
import { downloadIcon, refreshIcon } from '@jupyterlab/ui-components';

import { deleteRun, errorMessage, getInfo, restoreRun } from './api';
import { CardView, createCardWidget } from './card';
import { CompareWidget } from './compare';
import { LineageWidget } from './lineage';
import { downloadText, runsToCsv } from './csv';
import { shortId } from './format';
import { workbenchIcon } from './icons';
import { RunsModel } from './model';
import { RUNS_PANEL_ID, RunsPanel } from './panel';
import { rerunWithDialog } from './rerun';
import { CommandIDs, ICardFile, IInfo } from './tokens';

const PALETTE_CATEGORY = 'Workbench';

interface IOptionalServices {
  restorer: ILayoutRestorer | null;
  palette: ICommandPalette | null;
  docManager: IDocumentManager | null;
}

/** Explain once why Workbench is unavailable; nothing else gets registered. */
function reportUnavailable(reason: unknown): void {
  let message: string;
  if (reason instanceof ServerConnection.ResponseError && reason.response.status === 404) {
    message =
      'The Workbench server extension is not running, so the Workbench panel is disabled. ' +
      'Check `jupyter server extension list`, enable it with ' +
      '`jupyter server extension enable workbench`, then restart JupyterLab.';
  } else if (reason instanceof ServerConnection.ResponseError) {
    message = `Workbench cannot open its store: ${reason.message}`;
  } else {
    message = `Workbench could not ask the server for its status: ${errorMessage(reason)}`;
  }
  console.error('Workbench is unavailable', reason);
  void showErrorMessage('Workbench is unavailable', message);
}

/** Soft-delete runs after a confirmation, offering Undo. */
async function deleteRuns(model: RunsModel, runIds: string[]): Promise<void> {
  const what = runIds.length === 1 ? `run ${shortId(runIds[0])}` : `${runIds.length} runs`;
  const answer = await showDialog({
    title: `Delete ${what}?`,
    body: 'Deleted runs disappear from the table and can be restored (tick "deleted").',
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
  });
  if (!answer.button.accept) {
    return;
  }
  const results = await Promise.allSettled(runIds.map(id => deleteRun(id)));
  const done = runIds.filter((_, i) => results[i].status === 'fulfilled');
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  model.markDeleted(done, true);
  if (!model.query.deleted) {
    model.setSelection(model.selection.filter(id => !done.includes(id)));
  }
  void model.refresh();
  if (failed) {
    Notification.error(`Could not delete every run: ${errorMessage(failed.reason)}`);
  }
  if (done.length > 0) {
    Notification.success(`Deleted ${what}.`, {
      autoClose: 8000,
      actions: [{ label: 'Undo', callback: () => void restoreRuns(model, done) }]
    });
  }
}

/** Undo soft deletes. */
async function restoreRuns(model: RunsModel, runIds: string[]): Promise<void> {
  const results = await Promise.allSettled(runIds.map(id => restoreRun(id)));
  const done = runIds.filter((_, i) => results[i].status === 'fulfilled');
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  model.markDeleted(done, false);
  void model.refresh();
  if (failed) {
    Notification.error(`Could not restore every run: ${errorMessage(failed.reason)}`);
  }
}

/** Everything the plugin adds, once the server has answered `info`. */
function setup(
  app: JupyterFrontEnd,
  info: IInfo,
  services: IOptionalServices,
  openOnStart: boolean
): void {
  const { commands, shell, restored } = app;
  const { restorer, palette, docManager } = services;

  // Declared before the model so its activity check can look at the panel.
  let panel: RunsPanel | null = null;
  const model = new RunsModel({ isActive: () => panel?.isVisible ?? false });
  const openNotebook = docManager
    ? (path: string): void => {
        docManager.openOrReveal(path);
      }
    : undefined;
  const tracker = new WidgetTracker<CompareWidget>({ namespace: 'workbench-compare' });
  // Show a run's detail: the panel shows the detail of its one selected run.
  const openRun = (runId: string): void => {
    model.setSelection([runId]);
    shell.activateById(RUNS_PANEL_ID);
  };
  // One card tab per run; opening it again replaces it with the fresh card. Not
  // restored with the layout: the card lives only in memory.
  const cards = new Map<string, MainAreaWidget<CardView>>();
  const openCard = (card: ICardFile, runId: string): void => {
    cards.get(runId)?.dispose();
    const widget = createCardWidget(card, `workbench-card-${shortId(runId)}`, runId);
    cards.set(runId, widget);
    widget.disposed.connect(() => {
      if (cards.get(runId) === widget) {
        cards.delete(runId);
      }
    });
    shell.add(widget, 'main');
    shell.activateById(widget.id);
  };
  // A lineage tab already centred on the run is reused; following runs in a tab
  // re-centres it and shows the run's detail in the panel.
  const lineages = new Set<LineageWidget>();
  const openLineage = (runId: string): void => {
    const existing = [...lineages].find(w => w.runId === runId);
    if (existing) {
      shell.activateById(existing.id);
      return;
    }
    const widget = new LineageWidget({ runId, showRun: id => model.setSelection([id]) });
    lineages.add(widget);
    widget.disposed.connect(() => lineages.delete(widget));
    shell.add(widget, 'main');
    shell.activateById(widget.id);
  };

  commands.addCommand(CommandIDs.openPanel, {
    label: 'Show Workbench Runs',
    caption: 'Reveal the Workbench side panel',
    icon: workbenchIcon,
    execute: () => shell.activateById(RUNS_PANEL_ID)
  });

  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Runs',
    caption: 'Fetch the runs again now',
    icon: refreshIcon,
    execute: () => model.refresh()
  });

  commands.addCommand(CommandIDs.openCompare, {
    label: 'Compare Runs',
    execute: args => {
      const ids = Array.isArray(args.ids) ? args.ids.map(String) : [];
      if (ids.length < 2) {
        return;
      }
      const existing = tracker.find(w => w.runIds.join(',') === ids.join(','));
      if (existing) {
        shell.activateById(existing.id);
        return existing;
      }
      const widget = new CompareWidget({
        runIds: ids,
        openNotebook,
        openRun,
        openCard,
        openLineage
      });
      void tracker.add(widget);
      shell.add(widget, 'main');
      shell.activateById(widget.id);
      return widget;
    }
  });

  commands.addCommand(CommandIDs.compareSelected, {
    label: 'Compare Selected Runs',
    caption: 'Open a comparison of the runs selected in the Workbench panel',
    isEnabled: () => model.selection.length >= 2,
    execute: () => commands.execute(CommandIDs.openCompare, { ids: [...model.selection] })
  });

  commands.addCommand(CommandIDs.downloadCsv, {
    label: 'Download Runs as CSV',
    caption: 'Download every run matching the filter, with the columns shown',
    icon: downloadIcon,
    isEnabled: () => model.total > 0,
    execute: () => {
      const params = [...model.visibleParams];
      const metrics = [...model.visibleMetrics];
      const name = model.query.experiment || 'workbench';
      const done = model.fetchAll().then(runs => {
        downloadText(`${name}-runs.csv`, runsToCsv(runs, params, metrics));
        return runs.length;
      });
      Notification.promise(done, {
        pending: { message: 'Preparing the CSV…', options: { autoClose: false } },
        success: { message: count => `Downloaded ${count} runs.`, options: { autoClose: 3000 } },
        error: { message: reason => `CSV export failed: ${errorMessage(reason)}` }
      });
      return done;
    }
  });

  commands.addCommand(CommandIDs.rerunSelected, {
    label: 'Rerun Selected Run…',
    caption: "Run the selected run's notebook again with new parameters",
    isEnabled: () => model.selection.length === 1,
    execute: () => rerunWithDialog(model.selection[0], model)
  });

  commands.addCommand(CommandIDs.deleteSelected, {
    label: 'Delete Selected Runs',
    caption: 'Soft-delete the selected runs (they can be restored)',
    isEnabled: () => model.selection.some(id => !model.isDeleted(id)),
    execute: () =>
      deleteRuns(
        model,
        model.selection.filter(id => !model.isDeleted(id))
      )
  });

  commands.addCommand(CommandIDs.restoreSelected, {
    label: 'Restore Selected Runs',
    caption: 'Undo the deletion of the selected runs',
    isEnabled: () => model.selection.some(id => model.isDeleted(id)),
    execute: () =>
      restoreRuns(
        model,
        model.selection.filter(id => model.isDeleted(id))
      )
  });

  // Buttons and the palette read isEnabled from the model's state.
  model.changed.connect(() => commands.notifyCommandChanged());

  if (palette) {
    for (const command of [
      CommandIDs.openPanel,
      CommandIDs.refresh,
      CommandIDs.compareSelected,
      CommandIDs.downloadCsv,
      CommandIDs.rerunSelected,
      CommandIDs.deleteSelected,
      CommandIDs.restoreSelected
    ]) {
      palette.addItem({ command, category: PALETTE_CATEGORY });
    }
  }

  panel = new RunsPanel({ model, info, commands, openNotebook, openCard, openLineage });
  panel.disposed.connect(() => model.dispose());
  shell.add(panel, 'left', { rank: 650 });
  // `workbench demo` (and any link with ?workbench) opens JupyterLab on the panel; once
  // the layout is restored, or the restored (or reset) layout would close it again.
  if (openOnStart) {
    void restored.then(() => shell.activateById(RUNS_PANEL_ID));
  }

  if (restorer) {
    // info arrives asynchronously, so the saved layout may already have been applied;
    // the panel is then simply not reopened, which is harmless.
    restorer.add(panel, RUNS_PANEL_ID);
    void restorer.restore(tracker, {
      command: CommandIDs.openCompare,
      args: widget => ({ ids: [...widget.runIds] }),
      name: widget => widget.runIds.join(',')
    });
  }
}

/**
 * The Workbench plugin: a side panel of runs, a comparison view and rerun dialogs.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-workbench:plugin',
  description: 'Browse, filter, compare and rerun Workbench experiment runs.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    docManager: IDocumentManager | null
  ): void => {
    // Read now: the router drops the query from the URL while JupyterLab starts.
    const openOnStart = new URLSearchParams(window.location.search).has('workbench');
    // Not awaited: JupyterLab must not wait on our server; everything is added once the
    // server has confirmed that the Workbench API exists.
    getInfo()
      .then(
        info => setup(app, info, { restorer, palette, docManager }, openOnStart),
        reason => reportUnavailable(reason)
      )
      .catch(reason => console.error('Workbench failed to start', reason));
  }
};

export default plugin;
