/**
 * The registered models: each model's versions, the aliases that point at them and the
 * runs that logged them. Collapsed until opened; fetched when opened.
 */
import * as React from 'react';
import { Button, refreshIcon } from '@jupyterlab/ui-components';

import { listModels } from '../api';
import { formatMetric, formatRelative, runLabel } from '../format';
import { useRequest } from '../hooks';
import { IModelVersion, IRegisteredModel } from '../tokens';
import { BusyNotice } from './BusyNotice';

/** CSS class of the models section. */
export const MODELS_CLASS = 'jp-workbench-Models';

/** Metrics shown per version; the run's detail has the rest. */
const MAX_METRICS = 3;

/**
 * Props of {@link Models}.
 */
export interface IModelsProps {
  /** Shows a run's detail (the run that logged a version). */
  openRun?: (runId: string) => void;
}

/** One version of a model: its aliases, the run that logged it, a few metrics. */
function Version(props: {
  version: IModelVersion;
  openRun?: (runId: string) => void;
}): JSX.Element {
  const { version: v, openRun } = props;
  return (
    <li data-version={v.version} title={`sha256 ${v.sha256}\n${v.path}`}>
      <div className={`${MODELS_CLASS}-versionLine`}>
        <span className={`${MODELS_CLASS}-version`}>v{v.version}</span>
        {v.aliases.map(alias => (
          <span key={alias} className={`${MODELS_CLASS}-alias`}>
            @{alias}
          </span>
        ))}
        {openRun ? (
          <button
            className={`${MODELS_CLASS}-runLink`}
            data-run-id={v.run_id}
            title={`Show run ${v.run_id}`}
            onClick={() => openRun(v.run_id)}
          >
            {runLabel(v)}
          </button>
        ) : (
          <span className={`${MODELS_CLASS}-run`}>{runLabel(v)}</span>
        )}
      </div>
      <div className={`${MODELS_CLASS}-meta`}>
        {[
          ...Object.entries(v.metrics)
            .slice(0, MAX_METRICS)
            .map(([name, value]) => `${name} ${formatMetric(value)}`),
          formatRelative(v.created_at)
        ].join(' · ')}
      </div>
    </li>
  );
}

/** A registered model: its name and aliases, then its versions, newest first. */
function RegisteredModel(props: {
  model: IRegisteredModel;
  openRun?: (runId: string) => void;
}): JSX.Element {
  const { model } = props;
  return (
    <div className={`${MODELS_CLASS}-model`} data-model={model.name}>
      <div className={`${MODELS_CLASS}-name`}>
        {model.name}
        {Object.entries(model.aliases).map(([alias, version]) => (
          <span key={alias} className={`${MODELS_CLASS}-alias`} title={`${alias} → v${version}`}>
            @{alias}
          </span>
        ))}
      </div>
      <ul>
        {[...model.versions]
          .sort((a, b) => b.version - a.version)
          .map(v => (
            <Version key={v.version} version={v} openRun={props.openRun} />
          ))}
      </ul>
    </div>
  );
}

/**
 * The registered models.
 *
 * @param props - A way to open the runs behind the versions.
 * @returns A collapsible section.
 */
export function Models(props: IModelsProps): JSX.Element {
  const { openRun } = props;
  const [open, setOpen] = React.useState(false);
  // Fetched when opened; the list stays (and is counted) while closed.
  const { data, error, busy, reload } = useRequest(open ? 'models' : null, listModels);
  const models = data?.models ?? null;

  return (
    <details
      className={MODELS_CLASS}
      open={open}
      onToggle={event => setOpen(event.currentTarget.open)}
    >
      <summary>
        Models{models ? ` (${models.length})` : ''}
        {open && (
          <Button
            small
            minimal
            className={`${MODELS_CLASS}-refresh`}
            title="Fetch the models again"
            onClick={event => {
              event.preventDefault();
              reload();
            }}
          >
            <refreshIcon.react tag="span" />
          </Button>
        )}
      </summary>
      {error && (
        <div className="jp-workbench-error" role="alert">
          {error}
        </div>
      )}
      {busy && <BusyNotice />}
      {models === null && !error && !busy && <div className="jp-workbench-note">Loading…</div>}
      {models !== null && models.length === 0 && (
        <div className="jp-workbench-note">
          No registered models: <code>wb.register_model(run_id, name)</code> adds one.
        </div>
      )}
      {models?.map(model => (
        <RegisteredModel key={model.name} model={model} openRun={openRun} />
      ))}
    </details>
  );
}
