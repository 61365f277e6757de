/**
 * The ways views open things elsewhere in JupyterLab: a notebook, a run's detail in the
 * side panel, a model card tab, a lineage tab.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { Widget } from '@lumino/widgets';

import { CardView, createCardWidget } from './card';
import { shortId } from './format';
import { LineageWidget } from './lineage';
import { RunsModel } from './model';
import { RUNS_PANEL_ID } from './panel';
import { ICardFile } from './tokens';

/**
 * The openers handed to the panel and the comparison.
 */
export interface IOpeners {
  /**
   * Opens a notebook by contents path, scrolled to a cell when given its index; absent
   * without a document manager.
   */
  openNotebook?: (path: string, cellIndex?: number | null) => void;
  /** Shows a run's detail: the panel shows the detail of its one selected run. */
  openRun: (runId: string) => void;
  /** Opens an HTML model card in a main-area tab (one per run). */
  openCard: (card: ICardFile, runId: string) => void;
  /** Opens a run's lineage in a main-area tab (reused when already on that run). */
  openLineage: (runId: string) => void;
}

/**
 * Create the openers.
 *
 * @param shell - Where tabs are added and activated.
 * @param model - The runs model whose selection shows a run's detail.
 * @param docManager - Opens notebooks; null when JupyterLab has none.
 * @returns The openers.
 */
export function createOpeners(
  shell: JupyterFrontEnd.IShell,
  model: RunsModel,
  docManager: IDocumentManager | null
): IOpeners {
  const show = (widget: MainAreaWidget<CardView> | LineageWidget): void => {
    shell.add(widget, 'main');
    shell.activateById(widget.id);
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
    show(widget);
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
    show(widget);
  };
  return {
    openNotebook: docManager
      ? (path: string, cellIndex?: number | null): void => {
          const widget = docManager.openOrReveal(path);
          if (widget && typeof cellIndex === 'number') {
            void widget.context.ready.then(() => scrollToCell(widget, cellIndex));
          }
        }
      : undefined,
    openRun: (runId: string): void => {
      model.setSelection([runId]);
      shell.activateById(RUNS_PANEL_ID);
    },
    openCard,
    openLineage
  };
}

/** The part of a notebook panel used to show a cell (no dependency on the notebook package). */
interface INotebookLike {
  activeCellIndex: number;
  scrollToItem?: (
    index: number,
    behavior?: 'auto' | 'smart' | 'center' | 'start' | 'end'
  ) => Promise<void>;
}

/** Make a cell of an opened notebook the active one and scroll it to the top. */
function scrollToCell(widget: Widget, index: number): void {
  const content = (widget as unknown as { content?: INotebookLike }).content;
  if (!content || typeof content.activeCellIndex !== 'number') {
    return;
  }
  content.activeCellIndex = index;
  void content.scrollToItem?.(index, 'start');
}
