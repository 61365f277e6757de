/**
 * A side-by-side line diff of two runs' cell sources.
 */
import * as React from 'react';
import { diffLines } from 'diff';
import { HTMLSelect } from '@jupyterlab/ui-components';

/** CSS class of the diff table. */
export const SOURCE_DIFF_CLASS = 'jp-workbench-SourceDiff';

interface ILine {
  n: number;
  text: string;
}

/** One row of the side-by-side view. */
interface IDiffRow {
  left: ILine | null;
  right: ILine | null;
  kind: 'same' | 'changed' | 'removed' | 'added';
}

function splitLines(text: string): string[] {
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/** Align a line diff into rows: a removal followed by an addition pairs up as "changed". */
function sideBySide(a: string, b: string): IDiffRow[] {
  const parts = diffLines(a, b);
  const rows: IDiffRow[] = [];
  let ln = 1;
  let rn = 1;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const lines = splitLines(part.value);
    if (!part.added && !part.removed) {
      for (const text of lines) {
        rows.push({ left: { n: ln++, text }, right: { n: rn++, text }, kind: 'same' });
      }
    } else if (part.removed) {
      const next = parts[i + 1];
      const added = next?.added ? splitLines(next.value) : [];
      if (next?.added) {
        i++;
      }
      for (let k = 0; k < Math.max(lines.length, added.length); k++) {
        const left = k < lines.length ? { n: ln++, text: lines[k] } : null;
        const right = k < added.length ? { n: rn++, text: added[k] } : null;
        rows.push({ left, right, kind: left && right ? 'changed' : left ? 'removed' : 'added' });
      }
    } else {
      for (const text of lines) {
        rows.push({ left: null, right: { n: rn++, text }, kind: 'added' });
      }
    }
  }
  return rows;
}

/**
 * Props of {@link SourceDiff}.
 */
export interface ISourceDiffProps {
  /** One cell source per run; null where none was recorded. */
  sources: ReadonlyArray<string | null>;
  /** One label per run. */
  labels: ReadonlyArray<string>;
}

/**
 * Two runs' sources side by side, changed lines highlighted; with more than two runs,
 * two selectors choose which pair.
 *
 * @param props - Sources and labels.
 * @returns The diff view.
 */
export function SourceDiff(props: ISourceDiffProps): JSX.Element {
  const { sources, labels } = props;
  const [leftIndex, setLeft] = React.useState(0);
  const [rightIndex, setRight] = React.useState(Math.min(1, sources.length - 1));
  const options = labels.map((label, i) => ({ label, value: i }));
  const left = sources[leftIndex] ?? null;
  const right = sources[rightIndex] ?? null;

  let body: JSX.Element;
  if (left === null || right === null) {
    body = <p className="jp-workbench-note">No cell source was recorded for one of these runs.</p>;
  } else if (left === right) {
    body = <p className="jp-workbench-note">The two runs executed the same cell source.</p>;
  } else {
    body = (
      <table className={SOURCE_DIFF_CLASS}>
        <tbody>
          {sideBySide(left, right).map((row, i) => (
            <tr key={i} className={`jp-mod-${row.kind}`}>
              <td className={`${SOURCE_DIFF_CLASS}-lineno`}>{row.left?.n ?? ''}</td>
              <td className={`${SOURCE_DIFF_CLASS}-left`}>
                <pre>{row.left?.text ?? ''}</pre>
              </td>
              <td className={`${SOURCE_DIFF_CLASS}-lineno`}>{row.right?.n ?? ''}</td>
              <td className={`${SOURCE_DIFF_CLASS}-right`}>
                <pre>{row.right?.text ?? ''}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }

  return (
    <div className={`${SOURCE_DIFF_CLASS}-container`}>
      {sources.length > 2 && (
        <div className={`${SOURCE_DIFF_CLASS}-pick`}>
          <HTMLSelect
            aria-label="Left run"
            value={leftIndex}
            options={options}
            onChange={event => setLeft(Number(event.currentTarget.value))}
          />
          <span>vs</span>
          <HTMLSelect
            aria-label="Right run"
            value={rightIndex}
            options={options}
            onChange={event => setRight(Number(event.currentTarget.value))}
          />
        </div>
      )}
      {body}
    </div>
  );
}
