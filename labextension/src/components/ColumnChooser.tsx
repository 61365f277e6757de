/**
 * A drop-down of checkboxes choosing which param and metric columns the table shows.
 */
import * as React from 'react';

import { splitMetrics, SYSTEM_GROUP, systemLabel } from '../metricGroups';
import { RunsModel } from '../model';
import { IParamColumn, IRunColumns } from '../tokens';

/** CSS class of the chooser's drop-down. */
export const COLUMN_CHOOSER_CLASS = 'jp-workbench-ColumnChooser';

/**
 * Props of {@link ColumnChooser}.
 */
export interface IColumnChooserProps {
  model: RunsModel;
  /** Called when the user clicks outside the drop-down or presses Escape. */
  onClose: () => void;
  /** A selector of elements whose presses do not count as outside (the toggle button). */
  ignore?: string;
}

/** What the chooser says beside a parameter: swept, constant, a duplicate, or its values. */
function paramNote(p: IParamColumn | undefined): string {
  if (!p) {
    return '';
  }
  if (p.duplicate_of) {
    return `same as ${p.duplicate_of}`;
  }
  return p.swept ? 'swept' : p.constant ? 'constant' : `${p.values} values`;
}

/** One fieldset of checkboxes (metrics, parameters, autologged parameters). */
function ColumnGroup(props: {
  model: RunsModel;
  kind: keyof IRunColumns;
  title: string;
  names: ReadonlyArray<string>;
  shown: ReadonlyArray<string>;
  note?: (name: string) => string;
}): JSX.Element {
  const { model, kind, names, shown, note } = props;
  return (
    <fieldset className={`${COLUMN_CHOOSER_CLASS}-group`} data-group={props.title}>
      <legend>{props.title}</legend>
      {names.length === 0 && <div className={`${COLUMN_CHOOSER_CLASS}-none`}>none</div>}
      {names.map(name => (
        <label key={name} className={`${COLUMN_CHOOSER_CLASS}-item`} title={name}>
          <input
            type="checkbox"
            data-column={`${kind}.${name}`}
            checked={shown.includes(name)}
            onChange={event => model.setColumnVisible(kind, name, event.currentTarget.checked)}
          />
          <span className={`${COLUMN_CHOOSER_CLASS}-name`}>{systemLabel(name)}</span>
          {note && <span className={`${COLUMN_CHOOSER_CLASS}-note`}>{note(name)}</span>}
        </label>
      ))}
    </fieldset>
  );
}

/**
 * The list of param and metric names, each with a checkbox, filtered by a search box
 * (autologged estimators can record dozens of params).
 *
 * @param props - The model and a close callback.
 * @returns The drop-down element.
 */
export function ColumnChooser(props: IColumnChooserProps): JSX.Element {
  const { model, onClose, ignore } = props;
  const [search, setSearch] = React.useState('');
  const ref = React.useRef<HTMLDivElement>(null);

  React.useEffect(() => {
    const onPointer = (event: MouseEvent): void => {
      const target = event.target as Node;
      const inToggle = ignore !== undefined && (target as Element).closest?.(ignore);
      if (ref.current && !ref.current.contains(target) && !inToggle) {
        onClose();
      }
    };
    // On the next tick, so the click that opened the chooser does not close it.
    const timer = window.setTimeout(() => document.addEventListener('mousedown', onPointer));
    return () => {
      window.clearTimeout(timer);
      document.removeEventListener('mousedown', onPointer);
    };
  }, [onClose, ignore]);

  const paramInfo = new Map((model.columnSummary?.params ?? []).map(p => [p.name, p]));
  const group = (
    kind: keyof IRunColumns,
    title: string,
    names: ReadonlyArray<string>,
    shown: ReadonlyArray<string>
  ): JSX.Element => (
    <ColumnGroup
      model={model}
      kind={kind}
      title={title}
      names={names.filter(name => name.toLowerCase().includes(search.toLowerCase()))}
      shown={shown}
      note={kind === 'params' ? name => paramNote(paramInfo.get(name)) : undefined}
    />
  );
  const params = model.columns.params;
  const autologged = params.filter(name => paramInfo.get(name)?.autologged);
  const plain = params.filter(name => !paramInfo.get(name)?.autologged);
  // System metrics (CPU, memory, GPU) in a group of their own, after the parameters.
  const metrics = splitMetrics(model.columns.metrics);

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
      {model.columnsChosen && (
        <button
          className={`${COLUMN_CHOOSER_CLASS}-reset jp-mod-styled`}
          title="Show the default columns: the parameters that differ and the metrics most runs have"
          onClick={() => model.resetColumns()}
        >
          Default columns
        </button>
      )}
      {group('metrics', 'Metrics', metrics.model, model.visibleMetrics)}
      {group('params', 'Parameters', plain, model.visibleParams)}
      {autologged.length > 0 && group('params', 'Autologged', autologged, model.visibleParams)}
      {metrics.system.length > 0 &&
        group('metrics', SYSTEM_GROUP, metrics.system, model.visibleMetrics)}
    </div>
  );
}
