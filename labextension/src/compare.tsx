/**
 * The comparison of two or more runs as a main-area tab; its content is
 * {@link CompareView} (components/compare).
 */
import * as React from 'react';
import { ReactWidget } from '@jupyterlab/ui-components';

import { COMPARE_CLASS, CompareView, ICompareViewProps } from './components/compare';
import { shortId } from './format';
import { workbenchIcon } from './icons';

/**
 * A main-area widget comparing runs.
 */
export class CompareWidget extends ReactWidget {
  /**
   * Create a comparison.
   *
   * @param options - The run ids and the openers.
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
  /** Options of a comparison: the run ids and the openers its views use. */
  export type IOptions = ICompareViewProps;
}
