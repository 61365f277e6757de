/**
 * Small labels for a run's status and origin.
 */
import * as React from 'react';

/** CSS class of status badges; the status is added as `jp-mod-<status>`. */
export const STATUS_BADGE_CLASS = 'jp-workbench-StatusBadge';

/** CSS class of origin badges. */
export const ORIGIN_BADGE_CLASS = 'jp-workbench-OriginBadge';

/**
 * A colour-coded run status (finished, failed, killed, running).
 *
 * @param props - The status as the server sends it.
 * @returns The badge.
 */
export function StatusBadge(props: { status: string }): JSX.Element {
  const status = props.status.toLowerCase();
  return (
    <span className={`${STATUS_BADGE_CLASS} jp-mod-${status}`} title={`status: ${status}`}>
      {status}
    </span>
  );
}

/**
 * Where a run came from (`rerun of 3f2a1b9c`, `sweep 9c1b2d3e`, `magic`); nothing for
 * an empty origin.
 *
 * @param props - The origin label.
 * @returns The badge, or null.
 */
export function OriginBadge(props: { origin: string | null | undefined }): JSX.Element | null {
  if (!props.origin) {
    return null;
  }
  const kind = props.origin.split(' ')[0];
  return (
    <span className={`${ORIGIN_BADGE_CLASS} jp-mod-${kind}`} title={`origin: ${props.origin}`}>
      {props.origin}
    </span>
  );
}
