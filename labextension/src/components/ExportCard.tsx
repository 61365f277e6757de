/**
 * The "Export card" menu of a run's detail: the model card as Markdown, HTML or JSON,
 * or the HTML card opened in a tab.
 */
import * as React from 'react';
import { Button, caretDownIcon } from '@jupyterlab/ui-components';

import { errorMessage, fetchCard, retryWhileBusy } from '../api';
import { downloadCard } from '../card';
import { CardFormat, ICardFile } from '../tokens';
import { BusyNotice } from './BusyNotice';

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

interface ICardExport {
  /** Whether a card is being fetched. */
  busy: boolean;
  /** Whether the store was busy and the request waits to be sent again. */
  storeBusy: boolean;
  error: string | null;
  /** Fetch the card; download it, or open it when `show` and an opener is given. */
  exportCard: (format: CardFormat, show: boolean) => void;
}

/** Fetch a run's card on demand, waiting out a busy store. */
function useCardExport(runId: string, openCard?: (card: ICardFile) => void): ICardExport {
  const [busy, setBusy] = React.useState(false);
  const [storeBusy, setStoreBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  // A slow answer after the detail moved on to another run (the control is keyed by
  // run, so it unmounts) is dropped.
  const mounted = React.useRef(true);
  React.useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const exportCard = (format: CardFormat, show: boolean): void => {
    setBusy(true);
    setError(null);
    const onBusy = (): boolean => {
      if (!mounted.current) {
        return false; // Another run is shown now: stop asking.
      }
      setStoreBusy(true);
      return true;
    };
    retryWhileBusy(() => fetchCard(runId, format), onBusy)
      .then(card => {
        if (!mounted.current) {
          return;
        }
        if (show && openCard) {
          openCard(card);
        } else {
          downloadCard(card);
        }
      })
      .catch((reason: unknown) => {
        if (mounted.current) {
          setError(errorMessage(reason));
        }
      })
      .finally(() => {
        setBusy(false);
        setStoreBusy(false);
      });
  };
  return { busy, storeBusy, error, exportCard };
}

/** The menu items: one download per format, and "Open HTML in a tab" with an opener. */
function CardMenu(props: {
  canOpen: boolean;
  onPick: (format: CardFormat, show: boolean) => void;
}): JSX.Element {
  return (
    <div className={`${EXPORT_CARD_CLASS}-menu`} role="menu">
      {FORMATS.map(({ format, label }) => (
        <button
          key={format}
          role="menuitem"
          className={`${EXPORT_CARD_CLASS}-item`}
          data-format={format}
          data-action="download"
          onClick={() => props.onPick(format, false)}
        >
          {label}
        </button>
      ))}
      {props.canOpen && (
        <button
          role="menuitem"
          className={`${EXPORT_CARD_CLASS}-item`}
          data-format="html"
          data-action="open"
          title="Open the HTML card in a JupyterLab tab"
          onClick={() => props.onPick('html', true)}
        >
          Open HTML in a tab
        </button>
      )}
    </div>
  );
}

/**
 * A button with a small menu that downloads (or opens) the run's model card; a refusal
 * from the server (e.g. a run without metrics) is shown below it. Give it `key={runId}`
 * so that a change of run starts afresh (menu closed, no error).
 *
 * @param props - The run and an optional card opener.
 * @returns The control.
 */
export function ExportCard(props: IExportCardProps): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const { busy, storeBusy, error, exportCard } = useCardExport(props.runId, props.openCard);
  const ref = React.useRef<HTMLDivElement>(null);

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
          <CardMenu
            canOpen={props.openCard !== undefined}
            onPick={(format, show) => {
              setOpen(false);
              exportCard(format, show);
            }}
          />
        )}
      </div>
      {storeBusy && <BusyNotice />}
      {error && (
        <div className={`${EXPORT_CARD_CLASS}-error`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
