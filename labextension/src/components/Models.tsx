/**
 * The registered models: each model's versions, the aliases that point at them and the
 * runs that logged them. Collapsed until opened; fetched when opened.
 */
import * as React from 'react';
import { Button, refreshIcon } from '@jupyterlab/ui-components';

import { errorMessage, listModels } from '../api';
import { formatMetric, formatRelative, runLabel } from '../format';
import { IRegisteredModel } from '../tokens';

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

/**
 * The registered models.
 *
 * @param props - A way to open the runs behind the versions.
 * @returns A collapsible section.
 */
export function Models(props: IModelsProps): JSX.Element {
  const { openRun } = props;
  const [open, setOpen] = React.useState(false);
  const [reload, setReload] = React.useState(0);
  const [models, setModels] = React.useState<IRegisteredModel[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);

  React.useEffect(() => {
    if (!open) {
      return;
    }
    let cancelled = false;
    listModels().then(
      reply => {
        if (!cancelled) {
          setModels(reply.models);
          setError(null);
        }
      },
      (reason: unknown) => !cancelled && setError(errorMessage(reason))
    );
    return () => {
      cancelled = true;
    };
  }, [open, reload]);

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
              setReload(r => r + 1);
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
      {models === null && !error && <div className="jp-workbench-note">Loading…</div>}
      {models !== null && models.length === 0 && (
        <div className="jp-workbench-note">
          No registered models: <code>wb.register_model(run_id, name)</code> adds one.
        </div>
      )}
      {models?.map(model => (
        <div key={model.name} className={`${MODELS_CLASS}-model`} data-model={model.name}>
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
                <li key={v.version} data-version={v.version} title={`sha256 ${v.sha256}\n${v.path}`}>
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
              ))}
          </ul>
        </div>
      ))}
    </details>
  );
}
