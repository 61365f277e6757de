/**
 * A titled section of the comparison.
 */
import * as React from 'react';

import { COMPARE_CLASS } from './constants';

/**
 * Props of {@link Section}.
 */
export interface ISectionProps {
  title: string;
  /** Extra class, e.g. `jp-workbench-Compare-paramsSection` (a stable test selector). */
  className: string;
  children: React.ReactNode;
}

/**
 * A `<section>` with an `<h3>` title.
 *
 * @param props - Title, class and content.
 * @returns The section.
 */
export function Section(props: ISectionProps): JSX.Element {
  return (
    <section className={`${COMPARE_CLASS}-section ${props.className}`}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}
