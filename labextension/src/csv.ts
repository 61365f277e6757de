/**
 * CSV export of the runs table.
 */
import { IRun } from './tokens';

/** Quote a CSV field when it holds a separator, a quote or a line break (RFC 4180). */
function field(value: string | number | null | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function isoTime(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString();
}

/**
 * Runs as CSV with the table's columns, headed like `workbench runs --format csv`
 * (`params.<name>`, `metrics.<name>`), so the two exports read the same.
 *
 * @param runs - The rows.
 * @param params - The param columns to include.
 * @param metrics - The metric columns to include.
 * @returns The CSV text, CRLF line ends.
 */
export function runsToCsv(
  runs: ReadonlyArray<IRun>,
  params: ReadonlyArray<string>,
  metrics: ReadonlyArray<string>
): string {
  const header = [
    'run_id',
    'run_name',
    'experiment',
    'status',
    'start_time',
    'end_time',
    'origin',
    'parent_run_id',
    ...params.map(p => `params.${p}`),
    ...metrics.map(m => `metrics.${m}`)
  ];
  const lines = [header.map(field).join(',')];
  for (const run of runs) {
    lines.push(
      [
        run.run_id,
        run.run_name,
        run.experiment,
        run.status,
        isoTime(run.start_time),
        isoTime(run.end_time),
        run.origin,
        run.parent_run_id,
        ...params.map(p => run.params[p]),
        ...metrics.map(m => run.metrics[m])
      ]
        .map(field)
        .join(',')
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * Offer text to the browser as a file download.
 *
 * @param filename - The suggested file name.
 * @param text - The content.
 * @param mime - Its media type.
 */
export function downloadText(filename: string, text: string, mime = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${mime};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoked later: revoking at once cancels the download in some browsers.
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}
