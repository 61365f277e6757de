/**
 * Saved `%wb runs` and `%wb compare` outputs after a reopen or a kernel restart.
 *
 * JupyterLab renders a widget view whenever the output has one (its renderer outranks
 * every other), and once the widget's model is gone it says "Error displaying widget:
 * model not found" instead of falling back to the other mimetypes. The kernel side puts
 * a static rendering in the same bundle under `STATIC_VIEW_MIMETYPE`; this renderer
 * outranks the widget's in each notebook and shows the live widget when its model
 * exists in the kernel, and the static tables and charts otherwise.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import { IRenderMime, IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Panel, Widget } from '@lumino/widgets';

/** The kernel side's static rendering (workbench/widgets/_base.py). */
export const STATIC_VIEW_MIMETYPE = 'application/vnd.workbench.static-view+json';
/** ipywidgets' output mimetype. */
export const WIDGET_VIEW_MIMETYPE = 'application/vnd.jupyter.widget-view+json';
/** The widget manager adds its renderer at rank -10; this one must come first. */
export const STATIC_VIEW_RANK = -20;
/** How long a reopened notebook's kernel may take to start before only the static view shows. */
const KERNEL_WAIT_MS = 30_000;
const CLASS = 'jp-workbench-StaticView';

/** What the renderer needs of the notebook it renders in. */
export interface IStaticViewHost {
  /** The notebook's registry: its widget renderer is bound to the notebook's widget manager. */
  rendermime: IRenderMimeRegistry;
  /** The notebook's session, whose kernel holds (or not) the widget's model. */
  sessionContext: ISessionContext;
}

/** The payload under `STATIC_VIEW_MIMETYPE`. */
interface IStaticView {
  version: number;
  /** Mime bundles, or the name of a mimetype of the enclosing bundle. */
  outputs: (ReadonlyPartialJSONObject | string)[];
}

/**
 * The bundles to show in the widget's place, references to the output's own mimetypes
 * resolved; an unknown shape gives none.
 */
export function staticParts(data: ReadonlyPartialJSONObject): ReadonlyPartialJSONObject[] {
  const view = data[STATIC_VIEW_MIMETYPE] as IStaticView | undefined;
  if (!view || !Array.isArray(view.outputs)) {
    return [];
  }
  const parts: ReadonlyPartialJSONObject[] = [];
  for (const part of view.outputs) {
    if (typeof part === 'string') {
      if (data[part] !== undefined) {
        parts.push({ [part]: data[part] } as ReadonlyPartialJSONObject);
      }
    } else if (part && typeof part === 'object') {
      parts.push(part);
    }
  }
  return parts;
}

/** The widget model's id in an output, or '' when it has none (a closed widget). */
export function widgetModelId(data: ReadonlyPartialJSONObject): string {
  const view = data[WIDGET_VIEW_MIMETYPE] as { model_id?: unknown } | undefined;
  return typeof view?.model_id === 'string' ? view.model_id : '';
}

/** Resolves after `ms`, to `fallback`, unless `promise` settles first. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise<T>(resolve => {
    const timer = window.setTimeout(() => resolve(fallback), ms);
    promise.then(
      value => {
        window.clearTimeout(timer);
        resolve(value);
      },
      () => {
        window.clearTimeout(timer);
        resolve(fallback);
      }
    );
  });
}

/**
 * Whether the widget's model lives in the notebook's kernel: known to this page already
 * (a widget just displayed), or held by the kernel (the page reloaded, the kernel kept).
 * A widget's model id is the id of its comm.
 */
export async function isModelAlive(
  sessionContext: ISessionContext,
  modelId: string,
  waitForKernel: boolean
): Promise<boolean> {
  if (!modelId) {
    return false;
  }
  const now = sessionContext.session?.kernel;
  if (now?.hasComm(modelId)) {
    return true;
  }
  if (!waitForKernel) {
    return false;
  }
  await within(sessionContext.ready, KERNEL_WAIT_MS, undefined);
  const kernel = sessionContext.session?.kernel;
  if (!kernel) {
    return false;
  }
  const ask = kernel
    .requestCommInfo({ target_name: 'jupyter.widget' })
    .then(reply => reply.content.status === 'ok' && modelId in reply.content.comms);
  return within(ask, KERNEL_WAIT_MS, false);
}

/**
 * Renders a Workbench widget output: the live widget where its model exists, else the
 * static parts saved with it.
 */
export class StaticViewRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(host: IStaticViewHost) {
    super();
    this.addClass(CLASS);
    this._host = host;
  }

  /** Show the widget if its model is alive now, else the static view, then look again
   * once the kernel is ready (a reload that kept the kernel). */
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const generation = ++this._generation;
    const { sessionContext } = this._host;
    const modelId = widgetModelId(model.data);
    // An untrusted notebook never shows widgets (their renderer is not "safe").
    if (model.trusted && (await isModelAlive(sessionContext, modelId, false))) {
      return this._show(() => this._renderWidget(model));
    }
    await this._show(() => this._renderStatic(model));
    if (model.trusted && modelId) {
      void isModelAlive(sessionContext, modelId, true).then(alive => {
        if (alive && generation === this._generation && !this.isDisposed) {
          void this._show(() => this._renderWidget(model));
        }
      });
    }
  }

  private async _show(render: () => Promise<Widget[]>): Promise<void> {
    const widgets = await render();
    for (const child of [...this.widgets]) {
      child.dispose();
    }
    for (const widget of widgets) {
      this.addWidget(widget);
    }
  }

  private async _renderWidget(model: IRenderMime.IMimeModel): Promise<Widget[]> {
    const renderer = this._host.rendermime.createRenderer(WIDGET_VIEW_MIMETYPE);
    await renderer.renderModel(model);
    return [renderer];
  }

  private async _renderStatic(model: IRenderMime.IMimeModel): Promise<Widget[]> {
    const { rendermime } = this._host;
    const out: Widget[] = [];
    for (const data of staticParts(model.data)) {
      const mimeType = rendermime.preferredMimeType(data, model.trusted ? 'any' : 'ensure');
      if (!mimeType) {
        continue;
      }
      const renderer = rendermime.createRenderer(mimeType);
      await renderer.renderModel(new MimeModel({ data, trusted: model.trusted }));
      out.push(renderer);
    }
    return out;
  }

  private _host: IStaticViewHost;
  private _generation = 0;
}

/** The renderer factory of one notebook. */
export function staticViewFactory(host: IStaticViewHost): IRenderMime.IRendererFactory {
  return {
    // It shows a widget only for trusted outputs, and otherwise what the safe
    // renderers of the parts show.
    safe: true,
    mimeTypes: [STATIC_VIEW_MIMETYPE],
    createRenderer: () => new StaticViewRenderer(host)
  };
}

/** The structural part of a NotebookPanel used here (no dependency on @jupyterlab/notebook). */
interface INotebookPanelLike extends Widget {
  content: { rendermime: IRenderMimeRegistry };
}

/**
 * Adds the renderer to every notebook as it is created, before its outputs render: a
 * document widget extension runs when the panel is built, ahead of the file's content.
 */
export class StaticViewExtension implements DocumentRegistry.WidgetExtension {
  createNew(panel: Widget, context: DocumentRegistry.IContext<DocumentRegistry.IModel>): void {
    const rendermime = (panel as INotebookPanelLike).content?.rendermime;
    if (!rendermime) {
      return;
    }
    const factory = staticViewFactory({ rendermime, sessionContext: context.sessionContext });
    rendermime.addFactory(factory, STATIC_VIEW_RANK);
  }
}

/**
 * The plugin: saved Workbench widget outputs show their static view in notebooks. It
 * needs no server, so it is registered at once (before any notebook opens).
 */
export const staticViewPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-workbench:static-views',
  description: 'Show saved %wb runs and %wb compare outputs without their widget model.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    app.docRegistry.addWidgetExtension('Notebook', new StaticViewExtension());
  }
};
