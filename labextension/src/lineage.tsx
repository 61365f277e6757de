/**
 * A run's lineage in a main-area tab, where the graph has room: the side panel's
 * Lineage tab offers to open it. Following a run node re-centres the graph on that run.
 */
import * as React from 'react';
import { ReactWidget } from '@jupyterlab/ui-components';

import { Lineage } from './components/Lineage';
import { shortId } from './format';
import { workbenchIcon } from './icons';

/** CSS class of the lineage tab. */
export const LINEAGE_VIEW_CLASS = 'jp-workbench-LineageView';

let counter = 0;

/**
 * A main-area widget showing one run's lineage at a time.
 */
export class LineageWidget extends ReactWidget {
  /**
   * Create a lineage tab.
   *
   * @param options - The first run and what to do when the user follows a run.
   */
  constructor(options: LineageWidget.IOptions) {
    super();
    this._runId = options.runId;
    this._showRun = options.showRun;
    this.id = `workbench-lineage-${++counter}`;
    this.addClass(LINEAGE_VIEW_CLASS);
    this.title.icon = workbenchIcon;
    this.title.closable = true;
    this._setTitle();
  }

  /** The run at the centre of the graph. */
  get runId(): string {
    return this._runId;
  }

  /**
   * Centre the graph on another run.
   *
   * @param runId - The run.
   */
  setRun(runId: string): void {
    if (runId !== this._runId) {
      this._runId = runId;
      this._setTitle();
      this.update();
    }
  }

  protected render(): JSX.Element {
    const follow = (runId: string): void => {
      this.setRun(runId);
      this._showRun?.(runId);
    };
    return (
      <div className={`${LINEAGE_VIEW_CLASS}-body`}>
        <h2>
          Lineage of run <code>{shortId(this._runId)}</code>
        </h2>
        <Lineage runId={this._runId} openRun={follow} />
      </div>
    );
  }

  private _setTitle(): void {
    this.title.label = `Lineage ${shortId(this._runId)}`;
    this.title.caption = `Workbench: lineage of run ${this._runId}`;
  }

  private _runId: string;
  private _showRun?: (runId: string) => void;
}

/**
 * The LineageWidget statics.
 */
export namespace LineageWidget {
  /** Options of a lineage tab. */
  export interface IOptions {
    /** The full id of the first run shown. */
    runId: string;
    /** Also called when the user follows a run (e.g. to show its detail in the panel). */
    showRun?: (runId: string) => void;
  }
}
