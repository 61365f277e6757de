/**
 * The Workbench REST client: the only module that knows the server's URLs.
 *
 * Every call goes through `ServerConnection.makeRequest`, so the token and XSRF cookie
 * are handled exactly as for Jupyter's own APIs.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  CardFormat,
  ChartKind,
  ICardFile,
  IChartReply,
  IColumnsReply,
  IExperimentsReply,
  IInfo,
  IJob,
  ILineageReply,
  IMetricsReply,
  IModelComparison,
  IModelsReply,
  IModelVersionReply,
  INotebookCopyReply,
  IParametersReply,
  IRerunReply,
  IRunChartsReply,
  IRunDetail,
  IRunIdReply,
  IRunsQuery,
  IRunsReply,
  ICompareReply,
  ITagsReply,
  ITuneReply,
  NotebookCopy,
  ParameterValue
} from './tokens';

/** The path of the API under the server's base URL. */
const API_NAMESPACE = 'workbench/api';

/** The page size the runs table requests. */
export const RUNS_PAGE_SIZE = 200;

let settings: ServerConnection.ISettings | null = null;

function serverSettings(): ServerConnection.ISettings {
  // Made on first use rather than at import so tests can set PageConfig first.
  if (settings === null) {
    settings = ServerConnection.makeSettings();
  }
  return settings;
}

/** Query string from the entries whose value is not undefined. */
function query(args: { [key: string]: string | number | boolean | undefined }): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(args)) {
    if (value !== undefined) {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Seconds to wait when a busy answer gives no usable Retry-After. */
export const DEFAULT_RETRY_AFTER_S = 2;

/** Retries never come sooner than this, whatever Retry-After says (seconds). */
export const MIN_RETRY_AFTER_S = 0.5;

/**
 * The store is locked by another process (a run writing, a migration): the request was
 * not carried out and can be sent again after {@link retryAfter} seconds.
 *
 * A `ResponseError` (status 503), so code that only knows those still handles it.
 */
export class StoreBusyError extends ServerConnection.ResponseError {
  /**
   * Create the error of a 503 answer.
   *
   * @param response - The 503 response.
   * @param message - The server's message (`store busy: ...`).
   * @param retryAfter - Seconds to wait before retrying.
   */
  constructor(response: Response, message: string, retryAfter: number) {
    super(response, message);
    this.name = 'StoreBusyError';
    this.retryAfter = retryAfter;
  }

  /** Seconds to wait before sending the request again (at least {@link MIN_RETRY_AFTER_S}). */
  readonly retryAfter: number;
}

/**
 * The wait a Retry-After header asks for (RFC 9110: delay seconds or an HTTP date).
 *
 * @param header - The header value, or null when absent.
 * @param now - The current time in ms (for dates; tests pass it).
 * @returns Seconds, at least {@link MIN_RETRY_AFTER_S}; {@link DEFAULT_RETRY_AFTER_S}
 *   when the header is absent or unreadable.
 */
export function retryAfterSeconds(header: string | null, now: number = Date.now()): number {
  const text = header?.trim() ?? '';
  let seconds = DEFAULT_RETRY_AFTER_S;
  if (/^\d+(\.\d+)?$/.test(text)) {
    seconds = Number(text);
  } else if (text !== '' && !isNaN(Date.parse(text))) {
    seconds = (Date.parse(text) - now) / 1000;
  }
  return Math.max(MIN_RETRY_AFTER_S, seconds);
}

/**
 * Send a request to the Workbench API and check its status.
 *
 * @param endPoint - The path under `workbench/api/`, with its query string.
 * @param init - Method and body of the request.
 * @returns The response, its body unread.
 * @throws {StoreBusyError} On a 503 that says the store is busy (it has Retry-After).
 * @throws {ServerConnection.ResponseError} On any other non-2xx status, with the
 *   server's `message` (Workbench errors are `{message}` with 400/404/409/503).
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
async function send(endPoint: string, init: RequestInit = {}): Promise<Response> {
  const s = serverSettings();
  const url = URLExt.join(s.baseUrl, API_NAMESPACE, endPoint);
  const response = await ServerConnection.makeRequest(url, init, s);
  if (!response.ok) {
    const data = decode(await response.text());
    const message =
      data !== null && typeof data === 'object' && 'message' in data
        ? String((data as { message: unknown }).message)
        : `${response.status} ${response.statusText}`;
    const retryAfter = response.headers.get('Retry-After');
    // A proxy's own 503 (no Retry-After, no Workbench message) stays a plain error.
    if (response.status === 503 && (retryAfter !== null || /^store busy/i.test(message))) {
      throw new StoreBusyError(response, message, retryAfterSeconds(retryAfter));
    }
    throw new ServerConnection.ResponseError(response, message);
  }
  return response;
}

/** JSON from a body; null when empty. */
function decode(text: string): unknown {
  if (text.length === 0) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    // A proxy's HTML error page, say: keep the raw text for the error message.
    return { message: text.slice(0, 500) };
  }
}

/**
 * Call the Workbench API and decode its JSON answer.
 *
 * @param endPoint - The path under `workbench/api/`, with its query string.
 * @param init - Method and body of the request.
 * @returns The decoded JSON body.
 * @throws {StoreBusyError} While another process holds the store (503).
 * @throws {ServerConnection.ResponseError} On another non-2xx status, with the server's
 *   `message` (Workbench errors are `{message}` with 400/404/409/503).
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export async function requestAPI<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
  const response = await send(endPoint, init);
  return decode(await response.text()) as T;
}

/**
 * The server's Workbench version and the store it reads.
 *
 * @returns GET `info`.
 * @throws {ServerConnection.ResponseError} 404 when the server extension is not enabled.
 */
export function getInfo(): Promise<IInfo> {
  return requestAPI<IInfo>('info');
}

/**
 * The experiments with their run counts.
 *
 * @returns GET `experiments`.
 * @throws {ServerConnection.ResponseError} On a server error.
 */
export function listExperiments(): Promise<IExperimentsReply> {
  return requestAPI<IExperimentsReply>('experiments');
}

/**
 * One page of runs matching a query.
 *
 * @param q - Filter, order, experiment and whether to include deleted runs.
 * @param offset - Index of the first run to return.
 * @param limit - Number of runs to return (the server caps it).
 * @returns GET `runs`: the page, the total matching and the param/metric names.
 * @throws {ServerConnection.ResponseError} 400 with a positioned message for a bad
 *   filter or order_by.
 */
export function listRuns(
  q: IRunsQuery,
  offset = 0,
  limit: number = RUNS_PAGE_SIZE
): Promise<IRunsReply> {
  return requestAPI<IRunsReply>(
    'runs' +
      query({
        filter: q.filter || undefined,
        order_by: q.order_by || undefined,
        experiment: q.experiment || undefined,
        deleted: q.deleted ? 1 : undefined,
        offset,
        limit
      })
  );
}

/**
 * The param and metric columns of every run a query finds: which differ, which were
 * swept, which are autologged or constant, and the table's default choice.
 *
 * @param q - Filter, experiment and whether to include deleted runs (order is ignored).
 * @returns GET `columns`.
 * @throws {ServerConnection.ResponseError} 400 for a bad filter.
 */
export function getColumns(q: IRunsQuery): Promise<IColumnsReply> {
  return requestAPI<IColumnsReply>(
    'columns' +
      query({
        filter: q.filter || undefined,
        experiment: q.experiment || undefined,
        deleted: q.deleted ? 1 : undefined
      })
  );
}

/**
 * Everything recorded about one run.
 *
 * @param runId - A run id or unique prefix.
 * @returns GET `runs/<run_id>`.
 * @throws {ServerConnection.ResponseError} 404 for an unknown run.
 */
export function getRun(runId: string): Promise<IRunDetail> {
  return requestAPI<IRunDetail>(`runs/${encodeURIComponent(runId)}`);
}

/**
 * Parameters, final metrics and cell sources of several runs, aligned.
 *
 * @param runIds - The runs, in display order.
 * @returns GET `compare`.
 * @throws {ServerConnection.ResponseError} 404 when a run does not exist.
 */
export function compareRuns(runIds: ReadonlyArray<string>): Promise<ICompareReply> {
  return requestAPI<ICompareReply>('compare' + query({ ids: runIds.join(',') }));
}

/**
 * Per-step metric curves, downsampled on the server.
 *
 * @param runIds - The runs.
 * @param keys - Metric names; all when omitted.
 * @param maxPoints - At most this many points per curve.
 * @param after - One step per run (null: from its first point): only the points logged
 *   at a later step come back (a live chart's next points).
 * @returns GET `metrics`.
 * @throws {ServerConnection.ResponseError} On an unknown run or a bad argument.
 */
export function getMetrics(
  runIds: ReadonlyArray<string>,
  keys?: ReadonlyArray<string>,
  maxPoints = 1000,
  after?: ReadonlyArray<number | null>
): Promise<IMetricsReply> {
  return requestAPI<IMetricsReply>(
    'metrics' +
      query({
        ids: runIds.join(','),
        keys: keys && keys.length > 0 ? keys.join(',') : undefined,
        max_points: maxPoints,
        after_step: after ? after.map(a => (a === null ? '' : String(a))).join(',') : undefined
      })
  );
}

/**
 * The parameters cell of the run's notebook snapshot, to prefill a rerun.
 *
 * @param runId - The run.
 * @returns GET `runs/<run_id>/parameters`.
 * @throws {ServerConnection.ResponseError} 400 when the run has no notebook snapshot.
 */
export function getRunParameters(runId: string): Promise<IParametersReply> {
  return requestAPI<IParametersReply>(`runs/${encodeURIComponent(runId)}/parameters`);
}

/**
 * Start executing the run's notebook snapshot again with new parameters.
 *
 * @param runId - The run to rerun.
 * @param params - Parameter values by name (only names of the notebook's parameters cell).
 * @returns The job to poll with {@link getJob}.
 * @throws {ServerConnection.ResponseError} 400 naming unknown parameters.
 */
export function rerunRun(
  runId: string,
  params: { [name: string]: ParameterValue }
): Promise<IRerunReply> {
  return requestAPI<IRerunReply>(`runs/${encodeURIComponent(runId)}/rerun`, {
    method: 'POST',
    body: JSON.stringify({ params })
  });
}

/**
 * A rerun job's progress.
 *
 * @param jobId - From {@link rerunRun}.
 * @returns GET `jobs/<job_id>`.
 * @throws {ServerConnection.ResponseError} 404 when the server no longer knows the job.
 */
export function getJob(jobId: string): Promise<IJob> {
  return requestAPI<IJob>(`jobs/${encodeURIComponent(jobId)}`);
}

/**
 * Soft-delete a run (it can be restored).
 *
 * @param runId - The run.
 * @returns The full run id.
 * @throws {ServerConnection.ResponseError} 404 for an unknown run.
 */
export function deleteRun(runId: string): Promise<IRunIdReply> {
  return requestAPI<IRunIdReply>(`runs/${encodeURIComponent(runId)}`, { method: 'DELETE' });
}

/**
 * Undo a soft delete.
 *
 * @param runId - The run.
 * @returns The full run id.
 * @throws {ServerConnection.ResponseError} 404 for an unknown run.
 */
export function restoreRun(runId: string): Promise<IRunIdReply> {
  return requestAPI<IRunIdReply>(`runs/${encodeURIComponent(runId)}/restore`, {
    method: 'POST'
  });
}

/**
 * The lineage graph around a run: the runs and files linked to it through recorded
 * datasets and artifacts, reruns and registered models.
 *
 * @param runId - A run id or unique prefix.
 * @param depth - How many hops to follow each way (the server accepts 1 to 10).
 * @returns GET `runs/<run_id>/lineage`, with the graph drawn as SVG.
 * @throws {ServerConnection.ResponseError} 404 for an unknown run, 400 for a bad depth.
 */
export function getLineage(runId: string, depth = 3): Promise<ILineageReply> {
  return requestAPI<ILineageReply>(`runs/${encodeURIComponent(runId)}/lineage` + query({ depth }));
}

/**
 * A run's model card as a file: the body undecoded, with the server's file name.
 *
 * @param runId - A run id or unique prefix.
 * @param format - `md`, `html` or `json`.
 * @returns The body, the file name from Content-Disposition and the media type.
 * @throws {ServerConnection.ResponseError} 400 when the run has no metrics (the message
 *   says so), 404 for an unknown run.
 */
export async function fetchCard(runId: string, format: CardFormat): Promise<ICardFile> {
  const response = await send(`runs/${encodeURIComponent(runId)}/card` + query({ format }));
  const mime = (response.headers.get('Content-Type') ?? '').split(';')[0].trim();
  return {
    text: await response.text(),
    filename:
      dispositionFilename(response.headers.get('Content-Disposition')) ??
      `${runId.slice(0, 8)}-card.${format}`,
    mime: mime || 'text/plain'
  };
}

/** The file name of a Content-Disposition header (RFC 6266), if it names one. */
function dispositionFilename(header: string | null): string | null {
  if (!header) {
    return null;
  }
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[2].trim());
    } catch {
      // Malformed percent-encoding: fall back to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(header);
  if (!plain) {
    return null;
  }
  const name = plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2];
  // Only the last path segment: a file name, never a path.
  return name.split(/[\\/]/).pop() || null;
}

/**
 * The registered models, their versions and aliases.
 *
 * @returns GET `models`.
 * @throws {ServerConnection.ResponseError} On a server error.
 */
export function listModels(): Promise<IModelsReply> {
  return requestAPI<IModelsReply>('models');
}

/**
 * Register a run's model as the next version of a model.
 *
 * @param runId - The run that logged the model.
 * @param name - The model's name (created on first registration).
 * @param alias - Also point this alias at the new version.
 * @returns The new version.
 * @throws {ServerConnection.ResponseError} 400 when the run logged no model (or is deleted).
 */
export function registerModel(
  runId: string,
  name: string,
  alias?: string
): Promise<IModelVersionReply> {
  return requestAPI<IModelVersionReply>('models', {
    method: 'POST',
    body: JSON.stringify({ run_id: runId, name, alias: alias || undefined })
  });
}

/**
 * Point a model's alias at a version (moving it from where it pointed).
 *
 * @param name - The model.
 * @param alias - e.g. `champion`.
 * @param version - The version number.
 * @returns The version the alias now points at.
 * @throws {ServerConnection.ResponseError} 404 for an unknown model or version.
 */
export function setModelAlias(
  name: string,
  alias: string,
  version: number
): Promise<IModelVersionReply> {
  return requestAPI<IModelVersionReply>(
    `models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`,
    { method: 'PUT', body: JSON.stringify({ version }) }
  );
}

/**
 * A challenger version against the champion, as `workbench models compare` prints it.
 *
 * @param name - The model.
 * @param challenger - An alias or version number.
 * @param champion - An alias or version number.
 * @returns Metrics side by side, the better per metric and the verdict.
 * @throws {ServerConnection.ResponseError} 404 when an alias points nowhere.
 */
export function compareModels(
  name: string,
  challenger = 'challenger',
  champion = 'champion'
): Promise<IModelComparison> {
  return requestAPI<IModelComparison>(
    `models/${encodeURIComponent(name)}/compare` + query({ challenger, champion })
  );
}

/**
 * One metric's curves for several runs, as a chart the server built.
 *
 * @param runIds - The runs, in legend order.
 * @param key - The metric name.
 * @param path - A notebook directory (relative to the server root) whose store to read;
 *   the server's own store when omitted.
 * @param options - Smoothing, log scale and the x axis.
 * @returns GET `charts?kind=curves`: a Vega-Lite v5 spec.
 * @throws {StoreBusyError} While another process holds the store.
 * @throws {ServerConnection.ResponseError} 404 for an unknown run, 400 for a bad argument.
 */
export function getCurvesChart(
  runIds: ReadonlyArray<string>,
  key: string,
  path?: string,
  options: ICurveOptions = {}
): Promise<IChartReply> {
  return chart('curves', {
    ids: runIds.join(','),
    key,
    path: path || undefined,
    smoothing: options.smoothing ? String(options.smoothing) : undefined,
    log: options.log ? '1' : undefined,
    x: options.x && options.x !== 'step' ? options.x : undefined
  });
}

/** How the curves are drawn: smoothing, y scale and what the x axis measures. */
export interface ICurveOptions {
  /** An exponential moving average's weight, 0 (none) to 0.99. */
  smoothing?: number;
  /** A logarithmic y scale. */
  log?: boolean;
  /** `step`, `wall` (clock time) or `relative` (seconds since each run's start). */
  x?: 'step' | 'wall' | 'relative';
}

/**
 * One parameter against one metric, a point per run in its colour.
 *
 * @param runIds - The runs, in legend order.
 * @param param - The parameter (x axis).
 * @param metric - The metric (y axis).
 * @returns GET `charts?kind=scatter`: a Vega-Lite v5 spec.
 * @throws {ServerConnection.ResponseError} 400 for an unknown parameter or metric.
 */
export function getScatterChart(
  runIds: ReadonlyArray<string>,
  param: string,
  metric: string
): Promise<IChartReply> {
  return chart('scatter', { ids: runIds.join(','), param, metric });
}

/**
 * Parallel coordinates of several runs: parameter axes and one metric axis.
 *
 * @param runIds - The runs, in legend order.
 * @param metric - The metric of the last axis.
 * @param params - The parameter axes; the server picks the parameters that vary when
 *   omitted or empty.
 * @param path - A notebook directory (relative to the server root) whose store to read;
 *   the server's own store when omitted.
 * @param width - The plot's width in px: the server fits the labels to it (rotating
 *   them when axes are close), leaves out autologged copies of parameters and draws a
 *   "missing" tick for runs without a value.
 * @returns GET `charts?kind=parallel`: a Vega-Lite v5 spec.
 * @throws {StoreBusyError} While another process holds the store.
 * @throws {ServerConnection.ResponseError} 404 for an unknown run, 400 for an unknown
 *   metric or parameter.
 */
export function getParallelChart(
  runIds: ReadonlyArray<string>,
  metric: string,
  params?: ReadonlyArray<string>,
  path?: string,
  width?: number
): Promise<IChartReply> {
  return chart('parallel', {
    ids: runIds.join(','),
    metric,
    params: params && params.length > 0 ? params.join(',') : undefined,
    path: path || undefined,
    width: width ? String(Math.round(width)) : undefined
  });
}

function chart(kind: ChartKind, args: { [key: string]: string | undefined }): Promise<IChartReply> {
  return requestAPI<IChartReply>('charts' + query({ kind, ...args }));
}

/**
 * Add, change and delete tags of a run.
 *
 * @param runId - The run.
 * @param set - Tags to add or change.
 * @param remove - Tag keys to delete.
 * @returns The run's tags after the edit.
 * @throws {ServerConnection.ResponseError} 400 for a tag Workbench writes itself or a
 *   bad key, 404 for an unknown run.
 */
export function editTags(
  runId: string,
  set: { [key: string]: string },
  remove: ReadonlyArray<string> = []
): Promise<ITagsReply> {
  return requestAPI<ITagsReply>(`runs/${encodeURIComponent(runId)}/tags`, {
    method: 'PATCH',
    body: JSON.stringify({ set, delete: remove })
  });
}

/**
 * Set a run's Markdown description (empty removes it).
 *
 * @param runId - The run.
 * @param text - The description.
 * @returns The run's tags after the edit (the description is `mlflow.note.content`).
 * @throws {ServerConnection.ResponseError} 404 for an unknown run.
 */
export function setDescription(runId: string, text: string): Promise<ITagsReply> {
  return requestAPI<ITagsReply>(`runs/${encodeURIComponent(runId)}/description`, {
    method: 'PUT',
    body: JSON.stringify({ text })
  });
}

/**
 * The URL of a run's stored artifact (for links, images and downloads: the browser
 * sends Jupyter's cookie with them).
 *
 * @param runId - The run.
 * @param sha256 - The artifact's hash.
 * @param download - Ask the browser to save it rather than show it.
 * @returns An absolute URL under the server's base URL.
 */
export function artifactUrl(runId: string, sha256: string, download = false): string {
  const s = serverSettings();
  return (
    URLExt.join(
      s.baseUrl,
      API_NAMESPACE,
      'runs',
      encodeURIComponent(runId),
      'artifacts',
      encodeURIComponent(sha256)
    ) + (download ? '?download=1' : '')
  );
}

/**
 * The text of a run's stored artifact (for previews).
 *
 * @param runId - The run.
 * @param sha256 - The artifact's hash.
 * @returns The body as text.
 * @throws {ServerConnection.ResponseError} 404 when the content was not stored.
 */
export async function fetchArtifactText(runId: string, sha256: string): Promise<string> {
  const response = await send(
    `runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(sha256)}`
  );
  return response.text();
}

/**
 * Copy a run's notebook snapshot or executed output under the server root, to open it.
 *
 * @param runId - The run.
 * @param which - `snapshot` or `output`.
 * @returns The copy's path and the tracked cell's index.
 * @throws {ServerConnection.ResponseError} 404 when the run has no such notebook.
 */
export function copyNotebook(runId: string, which: NotebookCopy): Promise<INotebookCopyReply> {
  return requestAPI<INotebookCopyReply>(`runs/${encodeURIComponent(runId)}/notebook`, {
    method: 'POST',
    body: JSON.stringify({ which })
  });
}

/**
 * Every metric of one run as curves (system metrics apart), for its detail.
 *
 * @param runId - The run.
 * @param width - The plot width in px.
 * @returns GET `runs/<run_id>/charts`.
 * @throws {ServerConnection.ResponseError} 404 for an unknown run.
 */
export function getRunCharts(runId: string, width: number): Promise<IRunChartsReply> {
  return requestAPI<IRunChartsReply>(
    `runs/${encodeURIComponent(runId)}/charts` + query({ width: Math.round(width) })
  );
}

/**
 * A tune's optimisation history: its trials, the best so far and its chart.
 *
 * @param tuneId - The runs' `tune_id` tag (or a unique prefix), or the study's name.
 * @returns GET `tunes/<tune_id>`.
 * @throws {ServerConnection.ResponseError} 404 for no such tune, 400 for an ambiguous id.
 */
export function getTune(tuneId: string): Promise<ITuneReply> {
  return requestAPI<ITuneReply>(`tunes/${encodeURIComponent(tuneId)}`);
}

/**
 * Call `request` until the store is not busy, waiting what each busy answer asks for.
 *
 * @param request - Sends the request (again).
 * @param onBusy - Called with each busy answer, before the wait (e.g. to show a notice);
 *   returning false gives up (when the answer is no longer wanted).
 * @returns What `request` resolves with.
 * @throws Whatever `request` throws; the {@link StoreBusyError} only when `onBusy` gave up.
 */
export async function retryWhileBusy<T>(
  request: () => Promise<T>,
  onBusy?: (error: StoreBusyError) => boolean | void
): Promise<T> {
  for (;;) {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof StoreBusyError) || onBusy?.(error) === false) {
        throw error;
      }
      await new Promise(resolve => setTimeout(resolve, error.retryAfter * 1000));
    }
  }
}

/**
 * The message to show for an error thrown by this module (or anything else).
 *
 * @param error - What was thrown.
 * @returns One line for the user.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ServerConnection.NetworkError) {
    return 'Cannot reach the Jupyter server.';
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
