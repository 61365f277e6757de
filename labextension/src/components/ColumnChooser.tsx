/**
 * A drop-down of checkboxes choosing which param and metric columns the table shows.
 */
import * as React from 'react';

import { RunsModel } from '../model';
import { IRunColumns } from '../tokens';

/** CSS class of the chooser's drop-down. */
export const COLUMN_CHOOSER_CLASS = 'jp-workbench-ColumnChooser';

/**
 * Props of {@link ColumnChooser}.
 */
export interface IColumnChooserProps {
  model: RunsModel;
  /** Called when the user clicks outside the drop-down or presses Escape. */
  onClose: () => void;
}

/**
 * The list of param and metric names, each with a checkbox, filtered by a search box
 * (autologged estimators can record dozens of params).
 *
 * @param props - The model and a close callback.
 * @returns The drop-down element.
 */
export function ColumnChooser(props: IColumnChooserProps): JSX.Element {
  const { model, onClose } = props;
  const [search, setSearch] = React.useState('');
  const ref = React.useRef<HTMLDivElement>(null);

  React.useEffect(() => {
    const onPointer = (event: MouseEvent): void => {
      if (ref.current && !ref.current.contains(event.target as Node)) {
        onClose();
      }
    };
    // On the next tick, so the click that opened the chooser does not close it.
    const timer = window.setTimeout(() => document.addEventListener('mousedown', onPointer));
    return () => {
      window.clearTimeout(timer);
      document.removeEventListener('mousedown', onPointer);
    };
  }, [onClose]);

  const needle = search.toLowerCase();
  const group = (kind: keyof IRunColumns, title: string, shown: ReadonlyArray<string>) => {
    const names = model.columns[kind].filter(name => name.toLowerCase().includes(needle));
    return (
      <fieldset className={`${COLUMN_CHOOSER_CLASS}-group`}>
        <legend>{title}</legend>
        {names.length === 0 && <div className={`${COLUMN_CHOOSER_CLASS}-none`}>none</div>}
        {names.map(name => (
          <label key={name} className={`${COLUMN_CHOOSER_CLASS}-item`} title={name}>
            <input
              type="checkbox"
              data-column={`${kind}.${name}`}
              checked={shown.includes(name)}
              onChange={event => model.setColumnVisible(kind, name, event.currentTarget.checked)}
            />
            <span>{name}</span>
          </label>
        ))}
      </fieldset>
    );
  };

  return (
    <div
      ref={ref}
      className={COLUMN_CHOOSER_CLASS}
      onKeyDown={event => {
        if (event.key === 'Escape') {
          onClose();
        }
      }}
    >
      <input
        className={`${COLUMN_CHOOSER_CLASS}-search jp-mod-styled`}
        type="search"
        placeholder="Find a column"
        value={search}
        autoFocus
        onChange={event => setSearch(event.currentTarget.value)}
      />
      {group('metrics', 'Metrics', model.visibleMetrics)}
      {group('params', 'Parameters', model.visibleParams)}
    </div>
  );
}
