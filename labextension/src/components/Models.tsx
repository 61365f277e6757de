/**
 * The registered models: each model's versions, the aliases that point at them and the
 * runs that logged them. Collapsed until opened; fetched when opened.
 */
import * as React from 'react';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Button, refreshIcon } from '@jupyterlab/ui-components';

import { compareModels, errorMessage, listModels, setModelAlias } from '../api';
import { formatMetric, formatRelative, runLabel } from '../format';
import { useRequest } from '../hooks';
import { IModelComparison, IModelVersion, IRegisteredModel } from '../tokens';
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
  /** Called after an alias moved (e.g. to refresh the runs table's badges). */
  onChanged?: () => void;
  /** Changes when a model was registered elsewhere (the list is fetched again). */
  version?: number;
}

/** The aliases offered for every model, beside those it has. */
const USUAL_ALIASES = ['champion', 'challenger'];

/**
 * Point an alias at a version, after the user confirms a move.
 *
 * @returns Whether the alias was set.
 */
async function moveAlias(
  model: IRegisteredModel,
  alias: string,
  version: number
): Promise<boolean> {
  const from = model.aliases[alias];
  const result = await showDialog({
    title: from === undefined ? 'Set alias' : 'Move alias',
    body:
      from === undefined
        ? `Point ${model.name}@${alias} at v${version}?`
        : `Move ${model.name}@${alias} from v${from} to v${version}? Code that loads ` +
          `${model.name}@${alias} gets v${version} from now on.`,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: from === undefined ? 'Set' : 'Move' })
    ]
  });
  if (!result.button.accept) {
    return false;
  }
  await setModelAlias(model.name, alias, version);
  return true;
}

/** An alias picker and a button that points it at this version (confirmed). */
function AliasControl(props: {
  model: IRegisteredModel;
  version: number;
  onChanged: () => void;
}): JSX.Element {
  const { model, version } = props;
  const [alias, setAlias] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const known = [...new Set([...Object.keys(model.aliases), ...USUAL_ALIASES])].filter(
    a => model.aliases[a] !== version
  );
  const listId = `jp-workbench-aliases-${model.name}-${version}`;
  const apply = (): void => {
    const name = alias.trim();
    if (!name) {
      return;
    }
    moveAlias(model, name, version)
      .then(done => {
        if (done) {
          setAlias('');
          setError(null);
          props.onChanged();
        }
      })
      .catch(reason => setError(errorMessage(reason)));
  };
  return (
    <div className={`${MODELS_CLASS}-aliasControl`}>
      <input
        className={`${MODELS_CLASS}-aliasInput jp-mod-styled`}
        list={listId}
        placeholder="alias"
        aria-label={`Alias for v${version}`}
        value={alias}
        onChange={event => setAlias(event.currentTarget.value)}
        onKeyDown={event => event.key === 'Enter' && apply()}
      />
      <datalist id={listId}>
        {known.map(a => (
          <option key={a} value={a} />
        ))}
      </datalist>
      <button
        className={`${MODELS_CLASS}-setAlias`}
        disabled={!alias.trim()}
        title={`Point the alias at v${version} (asks first)`}
        onClick={apply}
      >
        set
      </button>
      {error && <span className="jp-workbench-error">{error}</span>}
    </div>
  );
}

/** The challenger against the champion, metric by metric, as `workbench models compare`. */
function ChallengerComparison(props: { name: string }): JSX.Element {
  const { data, error, busy } = useRequest(`compare:${props.name}`, () =>
    compareModels(props.name)
  );
  if (error) {
    return <div className="jp-workbench-error">{error}</div>;
  }
  if (busy || !data) {
    return <div className="jp-workbench-note">{busy ? 'Store busy…' : 'Comparing…'}</div>;
  }
  return <ComparisonTable data={data} />;
}

function ComparisonTable(props: { data: IModelComparison }): JSX.Element {
  const { data } = props;
  return (
    <div className={`${MODELS_CLASS}-comparison`}>
      <table>
        <thead>
          <tr>
            <th>metric</th>
            <th>champion v{data.champion.version}</th>
            <th>challenger v{data.challenger.version}</th>
          </tr>
        </thead>
        <tbody>
          {data.metrics.map(row => (
            <tr key={row.metric}>
              <th>{row.metric}</th>
              <td className={row.better === 'champion' ? 'jp-mod-best' : ''}>
                {formatMetric(row.champion)}
              </td>
              <td className={row.better === 'challenger' ? 'jp-mod-best' : ''}>
                {formatMetric(row.challenger)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.data_differs && (
        <div className="jp-workbench-note">They trained on different data.</div>
      )}
      <div className={`${MODELS_CLASS}-verdict`} data-wins={data.challenger_wins}>
        {data.challenger_wins ? 'The challenger is better.' : 'Keep the champion.'}
      </div>
    </div>
  );
}

/** One version of a model: its aliases, the run that logged it, a few metrics. */
function Version(props: {
  model: IRegisteredModel;
  version: IModelVersion;
  openRun?: (runId: string) => void;
  onChanged: () => void;
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
      <AliasControl model={props.model} version={v.version} onChanged={props.onChanged} />
    </li>
  );
}

/** A registered model: its name and aliases, then its versions, newest first. */
function RegisteredModel(props: {
  model: IRegisteredModel;
  openRun?: (runId: string) => void;
  onChanged: () => void;
}): JSX.Element {
  const { model } = props;
  const [comparing, setComparing] = React.useState(false);
  const canCompare =
    model.aliases.champion !== undefined &&
    model.aliases.challenger !== undefined &&
    model.aliases.champion !== model.aliases.challenger;
  return (
    <div className={`${MODELS_CLASS}-model`} data-model={model.name}>
      <div className={`${MODELS_CLASS}-name`}>
        {model.name}
        {Object.entries(model.aliases).map(([alias, version]) => (
          <span key={alias} className={`${MODELS_CLASS}-alias`} title={`${alias} → v${version}`}>
            @{alias}
          </span>
        ))}
        {canCompare && (
          <button
            className={`${MODELS_CLASS}-compare`}
            aria-expanded={comparing}
            title="The challenger against the champion, metric by metric"
            onClick={() => setComparing(c => !c)}
          >
            {comparing ? 'hide comparison' : 'challenger vs champion'}
          </button>
        )}
      </div>
      {comparing && (
        <ChallengerComparison
          key={`${model.aliases.champion}:${model.aliases.challenger}`}
          name={model.name}
        />
      )}
      <ul>
        {[...model.versions]
          .sort((a, b) => b.version - a.version)
          .map(v => (
            <Version
              key={v.version}
              model={model}
              version={v}
              openRun={props.openRun}
              onChanged={props.onChanged}
            />
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
  const { openRun, onChanged } = props;
  const [open, setOpen] = React.useState(false);
  // Fetched when opened; the list stays (and is counted) while closed.
  const { data, error, busy, reload } = useRequest(
    open ? 'models' : null,
    listModels,
    props.version
  );
  const models = data?.models ?? null;
  const changed = React.useCallback(() => {
    reload();
    onChanged?.();
  }, [reload, onChanged]);

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
        <RegisteredModel key={model.name} model={model} openRun={openRun} onChanged={changed} />
      ))}
    </details>
  );
}
