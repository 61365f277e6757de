/**
 * Model cards: saving one as a file, and reading an HTML card in a main-area tab.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { downloadIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { downloadText } from './csv';
import { workbenchIcon } from './icons';
import { ICardFile } from './tokens';

/** CSS class of the card view (the iframe's host). */
export const CARD_VIEW_CLASS = 'jp-workbench-CardView';

/**
 * Offer a card to the browser as a download, under the server's file name.
 *
 * @param card - The card from `fetchCard`.
 */
export function downloadCard(card: ICardFile): void {
  downloadText(card.filename, card.text, card.mime);
}

/**
 * An HTML model card in a sandboxed iframe.
 *
 * The empty `sandbox` gives the document an opaque origin with no scripts, forms or
 * popups: it can be read but can reach neither JupyterLab nor the server's API.
 */
export class CardView extends Widget {
  /**
   * Show a card.
   *
   * @param card - An HTML card.
   */
  constructor(card: ICardFile) {
    super();
    this.card = card;
    this.addClass(CARD_VIEW_CLASS);
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', '');
    frame.title = card.filename;
    frame.srcdoc = card.text;
    this.node.appendChild(frame);
  }

  /** The card shown. */
  readonly card: ICardFile;
}

/**
 * A main-area tab showing an HTML card, labelled with its file name, with a Download
 * button in its toolbar.
 *
 * @param card - An HTML card.
 * @param id - The widget id (one tab per run).
 * @param runId - The run the card describes (for the tooltip).
 * @returns The widget, not yet added to the shell.
 */
export function createCardWidget(
  card: ICardFile,
  id: string,
  runId: string
): MainAreaWidget<CardView> {
  const widget = new MainAreaWidget({ content: new CardView(card) });
  widget.id = id;
  widget.title.label = card.filename;
  widget.title.caption = `Model card of run ${runId}`;
  widget.title.icon = workbenchIcon;
  widget.title.closable = true;
  widget.toolbar.addItem(
    'download',
    new ToolbarButton({
      icon: downloadIcon,
      label: 'Download',
      tooltip: `Download ${card.filename}`,
      onClick: () => downloadCard(card)
    })
  );
  return widget;
}
