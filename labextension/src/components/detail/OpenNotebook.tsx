/**
 * "Open notebook": the notebook file as it is today, the snapshot taken when the run
 * started, or the executed output a sweep or rerun saved, scrolled to the tracked cell.
 */
import * as React from 'react';
import { Button, caretDownIcon, notebookIcon } from '@jupyterlab/ui-components';

import { copyNotebook, errorMessage } from '../../api';
import { IRunDetail, NotebookCopy } from '../../tokens';

/** CSS class of the control (button and menu). */
export const OPEN_NOTEBOOK_CLASS = 'jp-workbench-RunDetail-openNotebook';

/** Opens a notebook by contents path, optionally scrolled to a cell. */
export type NotebookOpener = (path: string, cellIndex?: number | null) => void;

const SNAPSHOT_TITLE = 'The notebook as it was when the run started (a copy under workbench-runs/)';
const OUTPUT_TITLE = 'The notebook as executed, with its outputs (a copy under workbench-runs/)';

interface IMenuItem {
  key: string;
  label: string;
  title: string;
  action: () => void;
}

/** Whether a run has an executed output notebook stored. */
export function hasOutputNotebook(detail: IRunDetail): boolean {
  return detail.artifacts.some(
    a => a.kind === 'notebook' && a.path.endsWith('.ipynb') && !!a.stored_path
  );
}

/**
 * The button and its menu; nothing when the run has no notebook at all.
 *
 * @param props - The run, the path of its notebook today (null when not under the
 *   server root) and the opener.
 * @returns The control, or null.
 */
export function OpenNotebook(props: {
  detail: IRunDetail;
  current: string | null;
  openNotebook: NotebookOpener;
}): JSX.Element | null {
  const { detail, current, openNotebook } = props;
  const [open, setOpen] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const snapshot = !!detail.context?.notebook_sha;
  const output = hasOutputNotebook(detail);
  if (!current && !snapshot && !output) {
    return null;
  }
  const openCopy = (which: NotebookCopy): void => {
    setOpen(false);
    setError(null);
    copyNotebook(detail.run_id, which)
      .then(reply => openNotebook(reply.path, reply.cell_index))
      .catch(reason => setError(errorMessage(reason)));
  };
  const openCurrent = (): void => {
    setOpen(false);
    if (current) {
      openNotebook(current);
    }
  };
  const items = [
    current && {
      key: 'current',
      label: 'Current file',
      title: `${current} as it is now`,
      action: openCurrent
    },
    snapshot && {
      key: 'snapshot',
      label: 'Snapshot when it ran',
      title: SNAPSHOT_TITLE,
      action: () => openCopy('snapshot')
    },
    output && {
      key: 'output',
      label: 'Executed output',
      title: OUTPUT_TITLE,
      action: () => openCopy('output')
    }
  ].filter((item): item is IMenuItem => !!item);
  return (
    <div className={OPEN_NOTEBOOK_CLASS}>
      <Button
        small
        className={`${OPEN_NOTEBOOK_CLASS}-button`}
        aria-haspopup="menu"
        aria-expanded={open}
        title="Open the run's notebook: today's file, its snapshot, or the executed output"
        onClick={() => setOpen(o => !o)}
      >
        <notebookIcon.react tag="span" className="jp-workbench-RunDetail-buttonIcon" />
        Open notebook
        <caretDownIcon.react tag="span" className="jp-workbench-RunDetail-buttonIcon" />
      </Button>
      {open && (
        <ul className={`${OPEN_NOTEBOOK_CLASS}-menu`} role="menu">
          {items.map(item => (
            <li key={item.key} role="none">
              <button
                role="menuitem"
                data-which={item.key}
                title={item.title}
                onClick={item.action}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && <div className="jp-workbench-error">{error}</div>}
    </div>
  );
}
