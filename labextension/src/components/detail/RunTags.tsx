/**
 * A run's tags, editable (add, change, delete), and its description in Markdown (the
 * `mlflow.note.content` tag, as MLflow keeps it).
 */
import * as React from 'react';
import { Button } from '@jupyterlab/ui-components';

import { editTags, errorMessage, setDescription } from '../../api';

/** CSS class of the tags section. */
export const RUN_TAGS_CLASS = 'jp-workbench-RunTags';
/** The tag holding a run's description. */
export const DESCRIPTION_TAG = 'mlflow.note.content';

/** Tags Workbench writes itself: shown, never edited (the server refuses it too). */
export function isProtectedTag(key: string): boolean {
  return key === 'sweep_id' || key.startsWith('workbench.');
}

/**
 * Renders Markdown into a node (JupyterLab's Markdown renderer), resolving when done.
 */
export type MarkdownRenderer = (text: string, host: HTMLElement) => Promise<void>;

/**
 * Props of {@link RunTags}.
 */
export interface IRunTagsProps {
  runId: string;
  tags: { [key: string]: string };
  /** Called with the tags after each successful edit. */
  onChanged: (tags: { [key: string]: string }) => void;
  /** Renders the description; it is shown as plain text without one. */
  renderMarkdown?: MarkdownRenderer;
}

/** The description, rendered, with an editor behind its Edit button. */
function Description(props: IRunTagsProps): JSX.Element {
  const { runId, tags, renderMarkdown } = props;
  const text = tags[DESCRIPTION_TAG] ?? '';
  const [draft, setDraft] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const host = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const node = host.current;
    if (!node || !renderMarkdown || draft !== null) {
      return;
    }
    node.textContent = '';
    renderMarkdown(text, node).catch(reason => setError(errorMessage(reason)));
  }, [text, renderMarkdown, draft]);
  const save = (): void => {
    setDescription(runId, draft ?? '')
      .then(reply => {
        setDraft(null);
        setError(null);
        props.onChanged(reply.tags);
      })
      .catch(reason => setError(errorMessage(reason)));
  };
  return (
    <div className={`${RUN_TAGS_CLASS}-description`}>
      {draft === null ? (
        <>
          {text ? (
            renderMarkdown ? (
              <div ref={host} className={`${RUN_TAGS_CLASS}-markdown`} />
            ) : (
              <div className={`${RUN_TAGS_CLASS}-markdown jp-mod-plain`}>{text}</div>
            )
          ) : (
            <span className="jp-workbench-note">No description.</span>
          )}
          <Button
            small
            minimal
            className={`${RUN_TAGS_CLASS}-editDescription`}
            title="Describe the run in Markdown (saved as the mlflow.note.content tag)"
            onClick={() => setDraft(text)}
          >
            {text ? 'Edit' : 'Add description'}
          </Button>
        </>
      ) : (
        <>
          <textarea
            className={`${RUN_TAGS_CLASS}-descriptionInput jp-mod-styled`}
            aria-label="Description (Markdown)"
            placeholder="Why this run, what changed, what to try next (Markdown)"
            rows={5}
            value={draft}
            onChange={event => setDraft(event.currentTarget.value)}
          />
          <div className={`${RUN_TAGS_CLASS}-buttons`}>
            <Button small className={`${RUN_TAGS_CLASS}-saveDescription`} onClick={save}>
              Save
            </Button>
            <Button small minimal onClick={() => setDraft(null)}>
              Cancel
            </Button>
          </div>
        </>
      )}
      {error && <div className="jp-workbench-error">{error}</div>}
    </div>
  );
}

/** One tag: its value, editable in place, and a delete button. */
function TagRow(props: {
  name: string;
  value: string;
  onSave: (value: string) => void;
  onDelete: () => void;
}): JSX.Element {
  const { name, value } = props;
  const [draft, setDraft] = React.useState<string | null>(null);
  const locked = isProtectedTag(name);
  return (
    <tr data-tag={name}>
      <th title={name}>{name}</th>
      <td>
        {draft === null ? (
          <span
            className={`${RUN_TAGS_CLASS}-value`}
            title={locked ? `${value} (written by Workbench)` : `${value}\nDouble-click to edit`}
            onDoubleClick={() => !locked && setDraft(value)}
          >
            {value}
          </span>
        ) : (
          <input
            className={`${RUN_TAGS_CLASS}-valueInput jp-mod-styled`}
            aria-label={`Value of ${name}`}
            value={draft}
            autoFocus
            onChange={event => setDraft(event.currentTarget.value)}
            onKeyDown={event => {
              if (event.key === 'Enter') {
                props.onSave(draft);
                setDraft(null);
              } else if (event.key === 'Escape') {
                setDraft(null);
              }
            }}
            onBlur={() => setDraft(null)}
          />
        )}
      </td>
      <td className={`${RUN_TAGS_CLASS}-actions`}>
        {!locked && (
          <>
            <button
              className={`${RUN_TAGS_CLASS}-edit`}
              title={`Change ${name}`}
              aria-label={`Change ${name}`}
              onClick={() => setDraft(value)}
            >
              ✎
            </button>
            <button
              className={`${RUN_TAGS_CLASS}-delete`}
              title={`Delete ${name}`}
              aria-label={`Delete ${name}`}
              onClick={props.onDelete}
            >
              ×
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

/** The key and value boxes that add a tag (or change one, if the key exists). */
function AddTag(props: { onAdd: (key: string, value: string) => void }): JSX.Element {
  const [key, setKey] = React.useState('');
  const [value, setValue] = React.useState('');
  const add = (): void => {
    if (key.trim()) {
      props.onAdd(key.trim(), value);
      setKey('');
      setValue('');
    }
  };
  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (event.key === 'Enter') {
      add();
    }
  };
  return (
    <div className={`${RUN_TAGS_CLASS}-add`}>
      <input
        className={`${RUN_TAGS_CLASS}-newKey jp-mod-styled`}
        aria-label="New tag key"
        placeholder="key"
        value={key}
        onChange={event => setKey(event.currentTarget.value)}
        onKeyDown={onKeyDown}
      />
      <input
        className={`${RUN_TAGS_CLASS}-newValue jp-mod-styled`}
        aria-label="New tag value"
        placeholder="value"
        value={value}
        onChange={event => setValue(event.currentTarget.value)}
        onKeyDown={onKeyDown}
      />
      <Button small className={`${RUN_TAGS_CLASS}-addButton`} disabled={!key.trim()} onClick={add}>
        Add tag
      </Button>
    </div>
  );
}

/**
 * The description and the tags of a run, editable.
 *
 * @param props - The run, its tags, a change callback and a Markdown renderer.
 * @returns The section.
 */
export function RunTags(props: IRunTagsProps): JSX.Element {
  const { runId, tags, onChanged } = props;
  const [error, setError] = React.useState<string | null>(null);
  const edit = (set: { [key: string]: string }, remove: string[] = []): void => {
    editTags(runId, set, remove)
      .then(reply => {
        setError(null);
        onChanged(reply.tags);
      })
      .catch(reason => setError(errorMessage(reason)));
  };
  const keys = Object.keys(tags)
    .filter(k => k !== DESCRIPTION_TAG)
    .sort();
  return (
    <div className={RUN_TAGS_CLASS}>
      <Description {...props} />
      <details className={`${RUN_TAGS_CLASS}-tags`} open>
        <summary>Tags ({keys.length})</summary>
        <table>
          <tbody>
            {keys.map(key => (
              <TagRow
                key={key}
                name={key}
                value={tags[key]}
                onSave={value => edit({ [key]: value })}
                onDelete={() => edit({}, [key])}
              />
            ))}
          </tbody>
        </table>
        <AddTag onAdd={(key, value) => edit({ [key]: value })} />
        {error && (
          <div className="jp-workbench-error" role="alert">
            {error}
          </div>
        )}
      </details>
    </div>
  );
}
