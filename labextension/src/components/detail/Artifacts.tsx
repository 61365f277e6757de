/**
 * The files recorded with a run: download each stored one, preview text, images, CSV
 * and HTML in place, and open notebooks in JupyterLab.
 */
import * as React from 'react';

import { artifactUrl, errorMessage, fetchArtifactText } from '../../api';
import { IArtifact } from '../../tokens';

/** CSS class of the artifacts section. */
export const ARTIFACTS_CLASS = 'jp-workbench-Artifacts';

/** Previews load files up to this size (bytes); bigger ones are only downloaded. */
export const MAX_PREVIEW_BYTES = 2 * 1024 * 1024;
/** Rows of a CSV preview. */
const CSV_PREVIEW_ROWS = 20;
/** Characters of a text preview. */
const TEXT_PREVIEW_CHARS = 20_000;

/** How an artifact can be previewed. */
export type PreviewKind = 'image' | 'csv' | 'html' | 'text' | null;

const EXTENSIONS: { [ext: string]: PreviewKind } = {
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  svg: 'image',
  webp: 'image',
  csv: 'csv',
  tsv: 'csv',
  html: 'html',
  htm: 'html',
  txt: 'text',
  log: 'text',
  md: 'text',
  json: 'text',
  yaml: 'text',
  yml: 'text',
  py: 'text',
  toml: 'text',
  cfg: 'text'
};

/**
 * How a file can be previewed, from its name.
 *
 * @param path - The artifact's path or name.
 * @returns The preview kind, or null for binary files (models, archives).
 */
export function previewKind(path: string): PreviewKind {
  const ext = path.split('.').pop()?.toLowerCase() ?? '';
  return EXTENSIONS[ext] ?? null;
}

/**
 * Whether the store holds an artifact's content (datasets read from memory are
 * recorded by hash only).
 *
 * @param a - The artifact.
 * @returns True when it can be downloaded.
 */
export function isStored(a: IArtifact): boolean {
  return a.stored_path !== null && a.stored_path !== undefined && a.stored_path !== '';
}

/**
 * Split CSV text into rows of cells (quotes and doubled quotes handled).
 *
 * @param text - The CSV text.
 * @param maxRows - The most rows to return.
 * @param separator - `,` or a tab.
 * @returns The rows, the header first.
 */
export function parseCsv(text: string, maxRows: number, separator = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < maxRows; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === separator) {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  if ((cell !== '' || row.length > 0) && rows.length < maxRows) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** The preview of one artifact, loaded when shown. */
function Preview(props: { runId: string; artifact: IArtifact; kind: PreviewKind }): JSX.Element {
  const { runId, artifact, kind } = props;
  const [text, setText] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (kind === 'image') {
      return;
    }
    let cancelled = false;
    fetchArtifactText(runId, artifact.sha256)
      .then(body => !cancelled && setText(body))
      .catch(reason => !cancelled && setError(errorMessage(reason)));
    return () => {
      cancelled = true;
    };
  }, [runId, artifact.sha256, kind]);
  if (error) {
    return <div className="jp-workbench-error">{error}</div>;
  }
  if (kind === 'image') {
    return (
      <img
        className={`${ARTIFACTS_CLASS}-image`}
        src={artifactUrl(runId, artifact.sha256)}
        alt={artifact.path}
      />
    );
  }
  if (text === null) {
    return <div className="jp-workbench-note">Loading…</div>;
  }
  if (kind === 'html') {
    // No script, no same-origin access: the file is shown, never run as this page.
    return (
      <iframe
        className={`${ARTIFACTS_CLASS}-html`}
        sandbox=""
        srcDoc={text}
        title={artifact.path}
      />
    );
  }
  if (kind === 'csv') {
    const rows = parseCsv(text, CSV_PREVIEW_ROWS + 1, artifact.path.endsWith('.tsv') ? '\t' : ',');
    const [head, ...body] = rows;
    return (
      <div className={`${ARTIFACTS_CLASS}-csv`}>
        <table>
          <thead>
            <tr>
              {head?.map((h, i) => (
                <th key={i}>{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {body.map((r, i) => (
              <tr key={i}>
                {r.map((c, j) => (
                  <td key={j}>{c}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        <div className="jp-workbench-note">first {body.length} rows</div>
      </div>
    );
  }
  return (
    <pre className={`${ARTIFACTS_CLASS}-text`}>
      {text.length > TEXT_PREVIEW_CHARS ? `${text.slice(0, TEXT_PREVIEW_CHARS)}\n…` : text}
    </pre>
  );
}

/** One artifact: what it is, its size, and its actions. */
function ArtifactRow(props: {
  runId: string;
  artifact: IArtifact;
  onOpenNotebook?: () => void;
}): JSX.Element {
  const { runId, artifact: a } = props;
  const [previewing, setPreviewing] = React.useState(false);
  const kind = previewKind(a.path);
  const stored = isStored(a);
  const canPreview = stored && kind !== null && a.size <= MAX_PREVIEW_BYTES;
  const isNotebook = a.kind === 'notebook' && a.path.endsWith('.ipynb');
  return (
    <li className={`${ARTIFACTS_CLASS}-item`} data-sha256={a.sha256} title={`sha256 ${a.sha256}`}>
      <div className={`${ARTIFACTS_CLASS}-row`}>
        <span className={`${ARTIFACTS_CLASS}-kind jp-mod-${a.direction}`}>
          {a.direction === 'input' ? '←' : '→'} {a.kind}
        </span>
        <span className={`${ARTIFACTS_CLASS}-path`}>{a.name || a.path}</span>
        <span className={`${ARTIFACTS_CLASS}-size`}>{formatBytes(a.size)}</span>
      </div>
      <div className={`${ARTIFACTS_CLASS}-actions`}>
        {stored ? (
          <a
            className={`${ARTIFACTS_CLASS}-download`}
            href={artifactUrl(runId, a.sha256, true)}
            download={a.path.split('/').pop() || a.sha256.slice(0, 12)}
          >
            Download
          </a>
        ) : (
          <span className="jp-workbench-note" title="Recorded by its content hash only">
            hash only
          </span>
        )}
        {canPreview && (
          <button
            className={`${ARTIFACTS_CLASS}-preview`}
            aria-expanded={previewing}
            onClick={() => setPreviewing(p => !p)}
          >
            {previewing ? 'Hide' : 'Preview'}
          </button>
        )}
        {isNotebook && stored && props.onOpenNotebook && (
          <button className={`${ARTIFACTS_CLASS}-open`} onClick={props.onOpenNotebook}>
            Open in JupyterLab
          </button>
        )}
      </div>
      {previewing && <Preview runId={runId} artifact={a} kind={kind} />}
    </li>
  );
}

/**
 * The run's artifacts, inputs and outputs, with download, preview and open actions.
 *
 * @param props - The run, its artifacts, and an opener for its executed notebook.
 * @returns The section, or null when the run recorded no files.
 */
export function Artifacts(props: {
  runId: string;
  artifacts: IArtifact[];
  onOpenOutputNotebook?: () => void;
}): JSX.Element | null {
  const { runId, artifacts } = props;
  if (artifacts.length === 0) {
    return null;
  }
  return (
    <details className={ARTIFACTS_CLASS} open>
      <summary>Artifacts ({artifacts.length})</summary>
      <ul>
        {artifacts.map(a => (
          <ArtifactRow
            key={`${a.direction}:${a.sha256}:${a.path}`}
            runId={runId}
            artifact={a}
            onOpenNotebook={props.onOpenOutputNotebook}
          />
        ))}
      </ul>
    </details>
  );
}

/**
 * A byte count the way people read it.
 *
 * @param size - Bytes.
 * @returns `512 B`, `55.5 KB`, `1.2 MB`, ...
 */
export function formatBytes(size: number): string {
  if (size < 1024) {
    return `${size} B`;
  }
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
