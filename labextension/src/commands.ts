/**
 * The Workbench commands: what the panel's buttons, the toolbar and the palette run.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { downloadIcon, refreshIcon } from '@jupyterlab/ui-components';

import { deleteRun, errorMessage, restoreRun } from './api';
import { CompareWidget } from './compare';
import { downloadText, runsToCsv } from './csv';
import { shortId } from './format';
import { workbenchIcon } from './icons';
import { RunsModel } from './model';
import { IOpeners } from './openers';
import { RUNS_PANEL_ID } from './panel';
import { rerunWithDialog } from './rerun';
import { CommandIDs } from './tokens';

const PALETTE_CATEGORY = 'Workbench';

/** The commands listed in the palette, in order. */
const PALETTE_COMMANDS = [
  CommandIDs.openPanel,
  CommandIDs.refresh,
  CommandIDs.compareSelected,
  CommandIDs.downloadCsv,
  CommandIDs.rerunSelected,
  CommandIDs.deleteSelected,
  CommandIDs.restoreSelected
];

/**
 * Everything the commands act on.
 */
export interface ICommandContext {
  app: JupyterFrontEnd;
  model: RunsModel;
  /** Tracks the comparison tabs (reuse, layout restoration). */
  tracker: WidgetTracker<CompareWidget>;
  openers: IOpeners;
  palette: ICommandPalette | null;
}

/**
 * Register every Workbench command (and list them in the palette when there is one).
 *
 * @param context - The app, the model, the comparison tracker, the openers and the palette.
 */
export function registerCommands(context: ICommandContext): void {
  addPanelCommands(context);
  addCompareCommands(context);
  addRunCommands(context);
  const { app, model, palette } = context;
  // Buttons and the palette read isEnabled from the model's state.
  model.changed.connect(() => app.commands.notifyCommandChanged());
  if (palette) {
    for (const command of PALETTE_COMMANDS) {
      palette.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
}

/** Show the panel, refresh it, download its runs as CSV. */
function addPanelCommands({ app, model }: ICommandContext): void {
  app.commands.addCommand(CommandIDs.openPanel, {
    label: 'Show Workbench Runs',
    caption: 'Reveal the Workbench side panel',
    icon: workbenchIcon,
    execute: () => app.shell.activateById(RUNS_PANEL_ID)
  });

  app.commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Runs',
    caption: 'Fetch the runs again now',
    icon: refreshIcon,
    execute: () => model.refresh()
  });

  app.commands.addCommand(CommandIDs.downloadCsv, {
    label: 'Download Runs as CSV',
    caption: 'Download every run matching the filter, with the columns shown',
    icon: downloadIcon,
    isEnabled: () => model.total > 0,
    execute: () => downloadCsv(model)
  });
}

/** Fetch every run of the query and offer it as a CSV file, with progress notices. */
function downloadCsv(model: RunsModel): Promise<number> {
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

/** Open a comparison of given runs (also from the restored layout) or of the selection. */
function addCompareCommands({ app, model, tracker, openers }: ICommandContext): void {
  const { commands, shell } = app;
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
      const widget = new CompareWidget({ runIds: ids, ...openers });
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
}

/** Rerun, delete and restore the selected runs. */
function addRunCommands({ app, model }: ICommandContext): void {
  app.commands.addCommand(CommandIDs.rerunSelected, {
    label: 'Rerun Selected Run…',
    caption: "Run the selected run's notebook again with new parameters",
    isEnabled: () => model.selection.length === 1,
    execute: () => rerunWithDialog(model.selection[0], model)
  });

  app.commands.addCommand(CommandIDs.deleteSelected, {
    label: 'Delete Selected Runs',
    caption: 'Soft-delete the selected runs (they can be restored)',
    isEnabled: () => model.selection.some(id => !model.isDeleted(id)),
    execute: () =>
      deleteRuns(
        model,
        model.selection.filter(id => !model.isDeleted(id))
      )
  });

  app.commands.addCommand(CommandIDs.restoreSelected, {
    label: 'Restore Selected Runs',
    caption: 'Undo the deletion of the selected runs',
    isEnabled: () => model.selection.some(id => model.isDeleted(id)),
    execute: () =>
      restoreRuns(
        model,
        model.selection.filter(id => model.isDeleted(id))
      )
  });
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
