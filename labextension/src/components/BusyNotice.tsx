/**
 * The notice shown while the store is locked by another process and a request waits to
 * be sent again: information, not an error.
 */
import * as React from 'react';

/** CSS class of the notice. */
export const BUSY_NOTICE_CLASS = 'jp-workbench-BusyNotice';

/** The notice's text. */
export const STORE_BUSY_TEXT = 'store busy, retrying';

/**
 * A quiet "store busy, retrying" line with a spinner.
 *
 * @returns The notice (role `status`, so screen readers announce it politely).
 */
export function BusyNotice(): JSX.Element {
  return (
    <div className={`${BUSY_NOTICE_CLASS} jp-workbench-note`} role="status">
      <span className="jp-workbench-Spinner" aria-hidden="true" />
      {STORE_BUSY_TEXT}
    </div>
  );
}
