/**
 * "Register model": a run's logged model as the next version of a registered model,
 * optionally with an alias (`challenger`).
 */
import * as React from 'react';
import { Button } from '@jupyterlab/ui-components';

import { errorMessage, listModels, registerModel } from '../../api';
import { IRunDetail } from '../../tokens';

/** CSS class of the control. */
export const REGISTER_MODEL_CLASS = 'jp-workbench-RunDetail-registerModel';

/** The name and alias boxes and the Register button. */
function RegisterForm(props: {
  runId: string;
  names: ReadonlyArray<string>;
  name: string;
  alias: string;
  onName: (name: string) => void;
  onAlias: (alias: string) => void;
  onSubmit: () => void;
}): JSX.Element {
  const listId = `${REGISTER_MODEL_CLASS}-names-${props.runId}`;
  return (
    <div className={`${REGISTER_MODEL_CLASS}-form`}>
      <input
        className={`${REGISTER_MODEL_CLASS}-name jp-mod-styled`}
        list={listId}
        placeholder="model name"
        aria-label="Model name"
        value={props.name}
        onChange={event => props.onName(event.currentTarget.value)}
      />
      <datalist id={listId}>
        {props.names.map(n => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <input
        className={`${REGISTER_MODEL_CLASS}-alias jp-mod-styled`}
        placeholder="alias (optional)"
        aria-label="Alias"
        value={props.alias}
        onChange={event => props.onAlias(event.currentTarget.value)}
      />
      <Button
        small
        className={`${REGISTER_MODEL_CLASS}-submit`}
        disabled={!props.name.trim()}
        onClick={props.onSubmit}
      >
        Register
      </Button>
    </div>
  );
}

/**
 * The button and its form; nothing when the run logged no model.
 *
 * @param props - The run, and a callback after a registration.
 * @returns The control, or null.
 */
export function RegisterModel(props: {
  detail: IRunDetail;
  onRegistered?: () => void;
}): JSX.Element | null {
  const { detail } = props;
  const [open, setOpen] = React.useState(false);
  const [name, setName] = React.useState('');
  const [alias, setAlias] = React.useState('');
  const [names, setNames] = React.useState<string[]>([]);
  const [message, setMessage] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const hasModel = detail.artifacts.some(a => a.direction === 'output' && a.kind === 'model');
  if (!hasModel) {
    return null;
  }
  const toggle = (): void => {
    setOpen(o => !o);
    if (!open) {
      listModels()
        .then(reply => {
          const known = reply.models.map(m => m.name);
          setNames(known);
          setName(n => n || known[0] || '');
        })
        .catch(() => undefined); // Only suggestions: the name can be typed.
    }
  };
  const submit = (): void => {
    setError(null);
    registerModel(detail.run_id, name.trim(), alias.trim() || undefined)
      .then(v => {
        setMessage(
          `Registered as ${name.trim()} v${v.version}${alias.trim() ? ` @${alias.trim()}` : ''}`
        );
        setOpen(false);
        props.onRegistered?.();
      })
      .catch(reason => setError(errorMessage(reason)));
  };
  return (
    <div className={REGISTER_MODEL_CLASS}>
      <Button
        small
        minimal
        className={`${REGISTER_MODEL_CLASS}-button`}
        aria-expanded={open}
        title="Register the run's model as a new version of a model"
        onClick={toggle}
      >
        Register model
      </Button>
      {open && (
        <RegisterForm
          runId={detail.run_id}
          names={names}
          name={name}
          alias={alias}
          onName={setName}
          onAlias={setAlias}
          onSubmit={submit}
        />
      )}
      {message && <div className="jp-workbench-note">{message}</div>}
      {error && <div className="jp-workbench-error">{error}</div>}
    </div>
  );
}
