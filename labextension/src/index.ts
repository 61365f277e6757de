/**
 * The Workbench JupyterLab plugin: wiring only (panel, commands, restoration).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage, WidgetTracker } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ServerConnection } from '@jupyterlab/services';
import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { errorMessage, getInfo, retryWhileBusy } from './api';
import { registerCommands } from './commands';
import { CompareWidget } from './compare';
import { RunsModel } from './model';
import { createOpeners } from './openers';
import { RUNS_PANEL_ID, RunsPanel } from './panel';
import { staticViewPlugin } from './staticview';
import { CommandIDs, IInfo, IViewState } from './tokens';

interface IOptionalServices {
  restorer: ILayoutRestorer | null;
  palette: ICommandPalette | null;
  docManager: IDocumentManager | null;
  state: IStateDB | null;
  rendermime: IRenderMimeRegistry | null;
}

/** Markdown (a run's description) rendered as JupyterLab renders a Markdown cell. */
function markdownRenderer(
  rendermime: IRenderMimeRegistry
): (text: string, host: HTMLElement) => Promise<void> {
  return async (text, host) => {
    const renderer = rendermime.createRenderer('text/markdown');
    await renderer.renderModel(new MimeModel({ data: { 'text/markdown': text }, trusted: false }));
    host.textContent = '';
    host.appendChild(renderer.node);
  };
}

/** The state database key of the panel's view (columns, widths, sort, filter) of a store. */
export function viewStateKey(store: string): string {
  return `jupyterlab-workbench:view:${store}`;
}

/** Saves wait this long after the last change (a column drag changes it many times). */
const SAVE_DELAY_MS = 500;

/**
 * Restore the model's view of this store from the state database, then keep saving it.
 * The model polls only once its saved query is in place.
 */
function persistView(model: RunsModel, state: IStateDB, store: string): void {
  const key = viewStateKey(store);
  let timer = 0;
  state
    .fetch(key)
    .then(saved => model.restoreViewState((saved ?? null) as Partial<IViewState> | null))
    .catch(reason => console.warn('Workbench: saved view not restored', reason))
    .then(() => {
      if (model.isDisposed) {
        return;
      }
      void model.start();
      model.stateChanged.connect(() => {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => {
          state
            .save(key, model.viewState as unknown as ReadonlyPartialJSONObject)
            .catch(reason => console.warn('Workbench: view not saved', reason));
        }, SAVE_DELAY_MS);
      });
    });
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

/** Everything the plugin adds, once the server has answered `info`. */
function setup(
  app: JupyterFrontEnd,
  info: IInfo,
  services: IOptionalServices,
  openOnStart: boolean
): void {
  const { shell, restored } = app;
  const { restorer, palette, docManager, state, rendermime } = services;

  // Declared before the model so its activity check can look at the panel.
  let panel: RunsPanel | null = null;
  const model = new RunsModel({
    isActive: () => panel?.isVisible ?? false,
    // With a state database, polling starts once the saved view is restored.
    auto: state === null
  });
  if (state) {
    persistView(model, state, info.store);
  }
  const tracker = new WidgetTracker<CompareWidget>({ namespace: 'workbench-compare' });
  const openers = createOpeners(shell, model, docManager);
  registerCommands({ app, model, tracker, openers, palette });

  const { openNotebook, openCard, openLineage } = openers;
  panel = new RunsPanel({
    model,
    info,
    commands: app.commands,
    openNotebook,
    openCard,
    openLineage,
    renderMarkdown: rendermime ? markdownRenderer(rendermime) : undefined
  });
  panel.disposed.connect(() => model.dispose());
  shell.add(panel, 'left', { rank: 650 });
  // `workbench demo` (and any link with ?workbench) opens JupyterLab on the panel; once
  // the layout is restored, or the restored (or reset) layout would close it again.
  if (openOnStart) {
    void restored.then(() => shell.activateById(RUNS_PANEL_ID));
  }

  if (restorer) {
    // info arrives asynchronously, so the saved layout may already have been applied;
    // the panel and the comparison tabs are then simply not reopened (restore() refuses
    // once the layout is restored), which is harmless.
    restorer.add(panel, RUNS_PANEL_ID);
    restorer
      .restore(tracker, {
        command: CommandIDs.openCompare,
        args: widget => ({ ids: [...widget.runIds] }),
        name: widget => widget.runIds.join(',')
      })
      .catch(reason => console.debug('Workbench: comparison tabs not restored', reason));
  }
}

/**
 * The Workbench plugin: a side panel of runs, a comparison view and rerun dialogs.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-workbench:plugin',
  description: 'Browse, filter, compare and rerun Workbench experiment runs.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IDocumentManager, IStateDB, IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    docManager: IDocumentManager | null,
    state: IStateDB | null,
    rendermime: IRenderMimeRegistry | null
  ): void => {
    // Read now: the router drops the query from the URL while JupyterLab starts.
    const openOnStart = new URLSearchParams(window.location.search).has('workbench');
    // Not awaited: JupyterLab must not wait on our server; everything is added once the
    // server has confirmed that the Workbench API exists. A busy store is waited out.
    retryWhileBusy(getInfo, () => console.info('Workbench: store busy, retrying'))
      .then(
        info => setup(app, info, { restorer, palette, docManager, state, rendermime }, openOnStart),
        reason => reportUnavailable(reason)
      )
      .catch(reason => console.error('Workbench failed to start', reason));
  }
};

export default [plugin, staticViewPlugin];
