/**
 * The Rerun dialog: edit the notebook's parameters, start the rerun, follow the job until
 * it ends, then show and select the new run.
 */
import * as React from 'react';
import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { errorMessage, getJob, getRunParameters, rerunRun } from './api';
import { useSignal } from './hooks';
import { shortId } from './format';
import { RunsModel } from './model';
import { IJob, ParameterValue } from './tokens';

/** CSS class of the parameters form. */
export const RERUN_DIALOG_CLASS = 'jp-workbench-RerunDialog';
/** CSS class of the dialog's Rerun (submit) button. */
export const RERUN_SUBMIT_CLASS = 'jp-workbench-RerunDialog-submit';
/** CSS class of the progress view. */
export const RERUN_PROGRESS_CLASS = 'jp-workbench-RerunProgress';

/** The form's values: parameter name to the text in its input. */
type FormValues = { [name: string]: string };

/** A default shown as Python would write it, since papermill parameters are Python. */
function displayValue(value: ParameterValue | unknown): string {
  if (value === null) {
    return 'None';
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (typeof value === 'string' || typeof value === 'number') {
    return String(value);
  }
  return JSON.stringify(value);
}

/**
 * Type an edited value: like the run's value it replaces when that is a number or boolean,
 * else the way papermill types command-line values (numbers, True, False, None, text).
 */
function typedValue(text: string, original: ParameterValue | unknown): ParameterValue {
  const t = text.trim();
  const asNumber = t === '' ? NaN : Number(t);
  if (typeof original === 'string') {
    return text;
  }
  if (/^true$/i.test(t)) {
    return true;
  }
  if (/^false$/i.test(t)) {
    return false;
  }
  if (t === 'None' || t === 'null') {
    return null;
  }
  if (isFinite(asNumber)) {
    return asNumber;
  }
  return text;
}

function RerunFormView(props: {
  current: { [name: string]: ParameterValue };
  defaults: { [name: string]: ParameterValue };
  values: FormValues;
  error: string | null;
  onChange: (name: string, value: string) => void;
}): JSX.Element {
  const [values, setValues] = React.useState(props.values);
  const names = Object.keys(props.current);
  return (
    <div className={RERUN_DIALOG_CLASS}>
      {names.length === 0 ? (
        <p>The notebook has no cell tagged “parameters”: it will run again as it was.</p>
      ) : (
        <p>
          The notebook snapshot runs again with the run&apos;s own parameters; change only what
          should differ.
        </p>
      )}
      {names.map(name => {
        const changed = values[name] !== displayValue(props.current[name]);
        return (
          <label key={name} className={`${RERUN_DIALOG_CLASS}-field`}>
            <span className={`${RERUN_DIALOG_CLASS}-name`}>{name}</span>
            <input
              className={`jp-mod-styled ${RERUN_DIALOG_CLASS}-input${changed ? ' jp-mod-changed' : ''}`}
              name={name}
              data-param={name}
              value={values[name]}
              spellCheck={false}
              onChange={event => {
                const value = event.currentTarget.value;
                setValues(old => ({ ...old, [name]: value }));
                props.onChange(name, value);
              }}
            />
            <span className={`${RERUN_DIALOG_CLASS}-default`} title="default in the notebook">
              default: {name in props.defaults ? displayValue(props.defaults[name]) : '?'}
            </span>
          </label>
        );
      })}
      {props.error && (
        <div className={`${RERUN_DIALOG_CLASS}-error`} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

/** The dialog body holding the form; `getValue()` returns the inputs' text. */
class RerunForm extends ReactWidget implements Dialog.IBodyWidget<FormValues> {
  constructor(
    private readonly _current: { [name: string]: ParameterValue },
    private readonly _defaults: { [name: string]: ParameterValue },
    values: FormValues,
    private readonly _error: string | null
  ) {
    super();
    this._values = { ...values };
  }

  getValue(): FormValues {
    return { ...this._values };
  }

  protected render(): JSX.Element {
    return (
      <RerunFormView
        current={this._current}
        defaults={this._defaults}
        values={this._values}
        error={this._error}
        onChange={(name, value) => {
          this._values[name] = value;
        }}
      />
    );
  }

  private _values: FormValues;
}

/** Follows a rerun job on the server until it ends. */
class RerunJob {
  constructor(readonly jobId: string) {
    this.done = new Promise<IJob>((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    this._poll = new Poll({
      factory: () => this._tick(),
      frequency: { interval: 1000, backoff: true, max: 10 * 1000 },
      name: `jupyterlab-workbench:job-${jobId}`,
      // A rerun ends on its own; keep following it even while the tab is hidden.
      standby: 'never'
    });
  }

  /** Resolves with the final job state; rejects when the job cannot be followed. */
  readonly done: Promise<IJob>;

  get job(): IJob | null {
    return this._job;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  private async _tick(): Promise<void> {
    let job: IJob;
    try {
      job = await getJob(this.jobId);
    } catch (error) {
      if (error instanceof ServerConnection.ResponseError && error.response.status === 404) {
        // The server restarted and forgot the job: nothing more to follow.
        this._poll.dispose();
        this._reject(error);
        return;
      }
      throw error; // Transient: the poll backs off and tries again.
    }
    this._job = job;
    this._changed.emit();
    if (job.status !== 'queued' && job.status !== 'running') {
      this._poll.dispose();
      this._resolve(job);
    }
  }

  private _changed = new Signal<this, void>(this);
  private _job: IJob | null = null;
  private _poll: Poll;
  private _reject: (reason: unknown) => void = () => undefined;
  private _resolve: (job: IJob) => void = () => undefined;
}

function ProgressView(props: { job: RerunJob; sourceRunId: string }): JSX.Element {
  useSignal(props.job.changed);
  const [failure, setFailure] = React.useState<string | null>(null);
  React.useEffect(() => {
    props.job.done.catch(reason => setFailure(errorMessage(reason)));
  }, [props.job]);
  const job = props.job.job;
  const status = failure ? 'lost' : (job?.status ?? 'queued');
  const going = status === 'queued' || status === 'running';
  let text: string;
  if (failure) {
    text = `Lost track of the rerun: ${failure}`;
  } else if (status === 'queued') {
    text = 'Waiting to start…';
  } else if (status === 'running') {
    text = `Executing the notebook of run ${shortId(props.sourceRunId)}…`;
  } else if (status === 'finished') {
    text = `Finished: new run ${job!.run_ids.map(shortId).join(', ') || '(none recorded)'}.`;
  } else {
    text = `The rerun ${status}.`;
  }
  return (
    <div className={RERUN_PROGRESS_CLASS} data-status={status} aria-live="polite">
      <div className={`${RERUN_PROGRESS_CLASS}-status`}>
        {going && <span className="jp-workbench-Spinner" aria-hidden="true" />}
        <span>{text}</span>
      </div>
      {job?.error && <pre className={`${RERUN_PROGRESS_CLASS}-error`}>{job.error}</pre>}
      {going && (
        <p className="jp-workbench-note">You can close this dialog: the rerun continues.</p>
      )}
    </div>
  );
}

/** Ask for parameter values until the server accepts them; null when cancelled. */
async function startRerun(
  runId: string,
  current: { [name: string]: ParameterValue },
  defaults: { [name: string]: ParameterValue }
): Promise<string | null> {
  const initial: FormValues = {};
  for (const [name, value] of Object.entries(current)) {
    initial[name] = displayValue(value);
  }
  let values = initial;
  let error: string | null = null;
  for (;;) {
    const result = await showDialog<FormValues>({
      title: `Rerun ${shortId(runId)}`,
      body: new RerunForm(current, defaults, values, error),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: 'Rerun', className: RERUN_SUBMIT_CLASS })
      ],
      focusNodeSelector: 'input'
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    values = result.value;
    // Only edited values are sent: the server keeps the run's own values for the rest.
    const params: { [name: string]: ParameterValue } = {};
    for (const [name, text] of Object.entries(values)) {
      if (text !== initial[name]) {
        params[name] = typedValue(text, current[name]);
      }
    }
    try {
      return (await rerunRun(runId, params)).job_id;
    } catch (reason) {
      if (reason instanceof ServerConnection.ResponseError && reason.response.status === 400) {
        error = reason.message; // Reopen the form with the values and the server's message.
        continue;
      }
      throw reason;
    }
  }
}

/**
 * Run the whole rerun flow for one run: parameters form, job progress, then refresh the
 * table and select the new run.
 *
 * @param runId - The run whose notebook snapshot is executed again.
 * @param model - The runs table to refresh and select in.
 * @returns Resolves when the job ended, the user cancelled, or an error was shown.
 */
export async function rerunWithDialog(runId: string, model: RunsModel): Promise<void> {
  let jobId: string | null;
  try {
    const { parameters, defaults } = await getRunParameters(runId);
    jobId = await startRerun(runId, parameters, defaults ?? {});
  } catch (reason) {
    await showErrorMessage(`Cannot rerun ${shortId(runId)}`, errorMessage(reason));
    return;
  }
  if (jobId === null) {
    return;
  }
  const job = new RerunJob(jobId);
  let dialogOpen = true;
  void showDialog({
    title: `Rerun of ${shortId(runId)}`,
    body: ReactWidget.create(<ProgressView job={job} sourceRunId={runId} />),
    buttons: [Dialog.okButton({ label: 'Close' })]
  }).then(() => {
    dialogOpen = false;
  });
  try {
    const final = await job.done;
    await model.refresh();
    if (final.run_ids.length > 0) {
      model.setSelection(final.run_ids);
    }
    if (!dialogOpen) {
      const ids = final.run_ids.map(shortId).join(', ');
      if (final.status === 'finished') {
        Notification.success(`Rerun of ${shortId(runId)} finished: run ${ids}`, {
          autoClose: 5000
        });
      } else {
        Notification.error(
          `Rerun of ${shortId(runId)} ${final.status}${ids ? `: run ${ids}` : ''}`
        );
      }
    }
  } catch (reason) {
    if (!dialogOpen) {
      Notification.error(`Lost track of the rerun of ${shortId(runId)}: ${errorMessage(reason)}`);
    }
  }
}
