/**
 * The "Export card" menu of a run's detail: the model card as Markdown, HTML or JSON,
 * or the HTML card opened in a tab.
 */
import * as React from 'react';
import { Button, caretDownIcon } from '@jupyterlab/ui-components';

import { errorMessage, fetchCard } from '../api';
import { downloadCard } from '../card';
import { CardFormat, ICardFile } from '../tokens';

/** CSS class of the control (button and menu). */
export const EXPORT_CARD_CLASS = 'jp-workbench-RunDetail-exportCard';

const FORMATS: { format: CardFormat; label: string }[] = [
  { format: 'md', label: 'Markdown (.md)' },
  { format: 'html', label: 'HTML (.html)' },
  { format: 'json', label: 'JSON (.json)' }
];

/**
 * Props of {@link ExportCard}.
 */
export interface IExportCardProps {
  runId: string;
  /** Opens an HTML card in a main-area tab; the menu offers only downloads without it. */
  openCard?: (card: ICardFile) => void;
}

/**
 * A button with a small menu that downloads (or opens) the run's model card; a refusal
 * from the server (e.g. a run without metrics) is shown below it.
 *
 * @param props - The run and an optional card opener.
 * @returns The control.
 */
export function ExportCard(props: IExportCardProps): JSX.Element {
  const { runId, openCard } = props;
  const [open, setOpen] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const ref = React.useRef<HTMLDivElement>(null);
  // The latest run, so a slow answer for a run no longer shown is dropped.
  const current = React.useRef(runId);
  current.current = runId;

  React.useEffect(() => {
    setError(null);
    setOpen(false);
  }, [runId]);

  React.useEffect(() => {
    if (!open) {
      return;
    }
    const onPointer = (event: MouseEvent): void => {
      if (ref.current && !ref.current.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', onPointer, true);
    return () => document.removeEventListener('mousedown', onPointer, true);
  }, [open]);

  const run = (format: CardFormat, show: boolean): void => {
    setOpen(false);
    setBusy(true);
    setError(null);
    fetchCard(runId, format)
      .then(card => {
        if (current.current !== runId) {
          return;
        }
        if (show && openCard) {
          openCard(card);
        } else {
          downloadCard(card);
        }
      })
      .catch((reason: unknown) => {
        if (current.current === runId) {
          setError(errorMessage(reason));
        }
      })
      .finally(() => setBusy(false));
  };

  return (
    <div
      className={EXPORT_CARD_CLASS}
      onKeyDown={event => {
        if (event.key === 'Escape' && open) {
          event.stopPropagation();
          setOpen(false);
        }
      }}
    >
      <div ref={ref} className={`${EXPORT_CARD_CLASS}-anchor`}>
        <Button
          small
          minimal
          className={`${EXPORT_CARD_CLASS}-button`}
          title="Export this run's model card"
          aria-haspopup="menu"
          aria-expanded={open}
          disabled={busy}
          onClick={() => setOpen(o => !o)}
        >
          {busy ? <span className="jp-workbench-Spinner" /> : null}
          Export card
          <caretDownIcon.react tag="span" className={`${EXPORT_CARD_CLASS}-caret`} />
        </Button>
        {open && (
          <div className={`${EXPORT_CARD_CLASS}-menu`} role="menu">
            {FORMATS.map(({ format, label }) => (
              <button
                key={format}
                role="menuitem"
                className={`${EXPORT_CARD_CLASS}-item`}
                data-format={format}
                data-action="download"
                onClick={() => run(format, false)}
              >
                {label}
              </button>
            ))}
            {openCard && (
              <button
                role="menuitem"
                className={`${EXPORT_CARD_CLASS}-item`}
                data-format="html"
                data-action="open"
                title="Open the HTML card in a JupyterLab tab"
                onClick={() => run('html', true)}
              >
                Open HTML in a tab
              </button>
            )}
          </div>
        )}
      </div>
      {error && (
        <div className={`${EXPORT_CARD_CLASS}-error`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
