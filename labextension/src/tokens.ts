/**
 * The shapes the Workbench REST API sends and receives, and the command ids.
 *
 * Field names are snake_case exactly as the server writes them: one name end to end
 * (database column = JSON key = TypeScript field), no camelCase translation layer.
 */
import type { VisualizationSpec } from 'vega-embed';

/**
 * The ids of the commands the extension registers.
 */
export namespace CommandIDs {
  /** Reveal the Workbench side panel. */
  export const openPanel = 'workbench:open-panel';
  /** Fetch the runs table again now. */
  export const refresh = 'workbench:refresh';
  /** Open a comparison of the selected runs (two or more). */
  export const compareSelected = 'workbench:compare-selected';
  /** Open a comparison of the runs given as `args.ids`; used by layout restoration. */
  export const openCompare = 'workbench:open-compare';
  /** Download every run matching the current query as CSV. */
  export const downloadCsv = 'workbench:download-csv';
  /** Rerun the selected run's notebook with edited parameters. */
  export const rerunSelected = 'workbench:rerun-selected';
  /** Soft-delete the selected runs. */
  export const deleteSelected = 'workbench:delete-selected';
  /** Undo the soft delete of the selected run. */
  export const restoreSelected = 'workbench:restore-selected';
}

/** GET info */
export interface IInfo {
  version: string;
  /** The store directory the server reads. */
  store: string;
  schema_version: number;
}

/** One entry of GET experiments. */
export interface IExperiment {
  name: string;
  runs: number;
  created_at: string | number | null;
  last_run: string | number | null;
}

/** GET experiments */
export interface IExperimentsReply {
  experiments: IExperiment[];
}

/** A run's lifecycle state as the server stores it (lower case). */
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

/** One row of the runs table. */
export interface IRun {
  run_id: string;
  run_name: string;
  experiment: string;
  /** Usually a {@link RunStatus}; typed as string so an unknown state still renders. */
  status: string;
  /** Milliseconds since the epoch. */
  start_time: number;
  /** Milliseconds since the epoch; null while running. */
  end_time: number | null;
  source: string;
  parent_run_id: string | null;
  /** A short label: `rerun of 3f2a1b9c`, `sweep 9c1b2d3e`, `magic`, ... */
  origin: string;
  params: { [name: string]: string };
  metrics: { [name: string]: number };
  tags: { [name: string]: string };
  /** Present only when the server marks soft-deleted rows (with `deleted=1`). */
  deleted?: boolean;
}

/** The param and metric names that occur in the current query's runs. */
export interface IRunColumns {
  params: string[];
  metrics: string[];
}

/** One parameter column of GET columns. */
export interface IParamColumn {
  name: string;
  /** How many of the query's runs have it. */
  runs: number;
  /** How many distinct values it takes. */
  values: number;
  /** One value in every run. */
  constant: boolean;
  /** Varies among runs of one sweep or tuning study. */
  swept: boolean;
  /** Recorded by autologging, named `Estimator.param`. */
  autologged: boolean;
  /** The plain parameter an autologged one repeats in every run, else null. */
  duplicate_of: string | null;
}

/** One metric column of GET columns. */
export interface IMetricColumn {
  name: string;
  /** How many of the query's runs have it. */
  runs: number;
  /** A `system/*` metric (CPU, memory, GPU). */
  system: boolean;
}

/** GET columns: the columns of every run a query finds, and the default choice. */
export interface IColumnsReply {
  total: number;
  params: IParamColumn[];
  metrics: IMetricColumn[];
  /** The metric an `objective` tag names, else null. */
  objective: string | null;
  /** The parameters that differ, swept ones first. */
  default_params: string[];
  /** The metrics most runs have, the objective first. */
  default_metrics: string[];
  /** Plain parameters with one value in every run. */
  constant_params: string[];
}

/**
 * What the panel remembers per store in JupyterLab's state database. JSON only.
 */
export interface IViewState {
  /** The search box's text (plain words search run names). */
  filter: string;
  experiment: string;
  deleted: boolean;
  sort: { key: string; direction: 'ASC' | 'DESC' } | null;
  /** The param columns chosen, or null for the defaults. */
  params: string[] | null;
  /** The metric columns chosen, or null for the defaults. */
  metrics: string[] | null;
  /** Column id to width in px. */
  widths: { [id: string]: number };
  show_constant: boolean;
  /** What the table groups by: '' , `experiment`, `sweep` or `param:<name>`. */
  group_by?: string;
  [key: string]: unknown;
}

/** The query part of GET runs. */
export interface IRunsQuery {
  /** MLflow search syntax; empty for all runs. */
  filter: string;
  /** MLflow order_by clause, e.g. `metrics.rmse ASC`; empty for newest first. */
  order_by: string;
  /** An experiment name; empty for all experiments. */
  experiment: string;
  /** Include soft-deleted runs. */
  deleted: boolean;
}

/** GET runs */
export interface IRunsReply {
  runs: IRun[];
  total: number;
  columns: IRunColumns;
}

/** A file recorded with a run. */
export interface IArtifact {
  path: string;
  kind: string;
  sha256: string;
  size: number;
  /** `input` or `output` */
  direction: string;
  /** Where the store keeps its content; null when recorded by hash only. */
  stored_path?: string | null;
  /** The name given when logged (a model's or dataset's name). */
  name?: string | null;
}

/** PATCH runs/<id>/tags, PUT runs/<id>/description */
export interface ITagsReply {
  run_id: string;
  tags: { [key: string]: string };
}

/** Which copy of a run's notebook to open. */
export type NotebookCopy = 'snapshot' | 'output';

/** POST runs/<id>/notebook */
export interface INotebookCopyReply {
  /** The copy's contents path (under `workbench-runs/`). */
  path: string;
  /** The tracked cell's index in it, or null. */
  cell_index: number | null;
  which: NotebookCopy;
}

/** GET runs/<id>/charts */
export interface IRunChartsReply {
  /** The run's metric curves, one row per metric; null when it logged none. */
  metrics: VisualizationSpec | null;
  /** Its `system/*` curves; null when there are none. */
  system: VisualizationSpec | null;
  /** Metrics logged once (final values): name to value. */
  finals: { [name: string]: number };
}

/** One trial of a tune (GET tunes/<id>). */
export interface ITuneTrial {
  /** Optuna's trial number; null for a run without one. */
  trial: number | null;
  run_id: string;
  state: 'complete' | 'pruned' | 'fail' | 'running';
  /** The objective's value; null unless the trial completed. */
  value: number | null;
  /** The best value of this trial and those before it; null before the first value. */
  best_so_far: number | null;
  params: { [name: string]: string };
}

/** GET tunes/<id>: a tune's optimisation history. */
export interface ITuneReply {
  tune_id: string | null;
  study: string | null;
  objective: string | null;
  direction: 'minimize' | 'maximize';
  trials: ITuneTrial[];
  /** The best trial, or null while none has a value. */
  best: ITuneTrial | null;
  /** Each trial's value and the best so far; null while no trial has a value. */
  chart: VisualizationSpec | null;
}

/** Where and how a run was recorded. Keys beyond these may be present. */
export interface IRunContext {
  notebook_path?: string | null;
  cell_id?: string | null;
  cell_source?: string | null;
  execution_count?: number | null;
  git_commit?: string | null;
  git_branch?: string | null;
  git_dirty?: boolean | null;
  python_version?: string | null;
  host?: string | null;
  [key: string]: unknown;
}

/** GET runs/<run_id>: everything recorded about one run (a runs table row and more). */
export interface IRunDetail extends IRun {
  duration_s: number | null;
  error: string | null;
  artifacts: IArtifact[];
  context: IRunContext;
  children: string[];
  /** Always present in a detail, unlike in a row. */
  deleted: boolean;
}

/** The per-run header of GET compare. */
export interface ICompareRun {
  run_id: string;
  run_name: string;
  status: string;
  experiment: string;
  origin: string;
}

/** GET compare?ids= */
export interface ICompareReply {
  runs: ICompareRun[];
  /** Param name to one value per run (null where a run lacks it). */
  params: { [name: string]: (string | null)[] };
  differing_params: string[];
  /** Metric name to one final value per run (null where a run lacks it). */
  metrics: { [name: string]: (number | null)[] };
  /** Metric name to the index of the best run. */
  best: { [metric: string]: number };
  /** Each run's tracked cell source. */
  sources: (string | null)[];
  /** Whether the runs were recorded from different notebook contents. */
  notebooks_differ: boolean;
  /** The datasets the runs used, aligned with `runs`; absent from older servers. */
  datasets?: IDatasetsComparison;
  /** The metric the runs name as their objective (an `objective` tag), if any. */
  objective?: string | null;
}

/** A summary statistic of one dataset column that differs between the runs. */
export interface IDatasetDrift {
  column: string;
  /** e.g. `mean`, `std`, `null_fraction`. */
  stat: string;
  /** One value per run (null where a run lacks the column or the dataset). */
  values: (number | null)[];
}

/** One dataset name across the compared runs. */
export interface IDatasetRow {
  name: string;
  /** `training` or `evaluation`. */
  role: string;
  /** The content hash per run; null where a run did not use this dataset. */
  sha256: (string | null)[];
  /** The row count per run, when known. */
  rows: (number | null)[];
  /** Whether every run used the same content. */
  same: boolean;
  drift: IDatasetDrift[];
}

/** The `datasets` part of GET compare. */
export interface IDatasetsComparison {
  /** Whether any dataset's content differs between the runs. */
  differ: boolean;
  rows: IDatasetRow[];
}

/** One downsampled metric curve of one run. */
export interface IMetricSeries {
  run_id: string;
  key: string;
  steps: number[];
  values: number[];
}

/** GET metrics?ids= */
export interface IMetricsReply {
  series: IMetricSeries[];
}

/** A parameter value the rerun endpoint accepts (papermill types). */
export type ParameterValue = string | number | boolean | null;

/** GET runs/<run_id>/parameters */
export interface IParametersReply {
  /** Name to the run's own value: what a rerun keeps unless it is changed. */
  parameters: { [name: string]: ParameterValue };
  /** Name to the notebook's default, from its `parameters` cell. */
  defaults: { [name: string]: ParameterValue };
}

/** POST runs/<run_id>/rerun */
export interface IRerunReply {
  job_id: string;
}

/** A rerun job's state. */
export type JobStatus = 'queued' | 'running' | 'finished' | 'failed' | 'killed';

/** GET jobs/<job_id> */
export interface IJob {
  job_id: string;
  status: JobStatus;
  /** The runs the job has recorded so far. */
  run_ids: string[];
  error: string | null;
}

/** DELETE runs/<run_id>, POST runs/<run_id>/restore */
export interface IRunIdReply {
  run_id: string;
}

/** The kind of a lineage graph node. */
export type LineageNodeType = 'run' | 'dataset' | 'model' | 'artifact';

/** How two lineage nodes are linked; edges point the way data flows. */
export type LineageRelation = 'read' | 'wrote' | 'rerun_of' | 'child_of' | 'registered_as';

/** One node of a lineage graph: a run or a file (by content hash). */
export interface ILineageNode {
  /** `run:<run_id>` or `artifact:<sha256>`. */
  id: string;
  type: LineageNodeType;
  label: string;
  /** True for the run the graph was asked about. */
  focus: boolean;
  /** Run nodes only. */
  run_id?: string;
  status?: string;
  experiment?: string;
  /** Artifact, dataset and model nodes only. */
  sha256?: string;
  path?: string;
  size?: number;
  name?: string;
}

/** One edge of a lineage graph, from `source` to `target` node id. */
export interface ILineageEdge {
  source: string;
  target: string;
  relation: LineageRelation;
}

/** GET runs/<run_id>/lineage */
export interface ILineageReply {
  /** The full id of the run asked about. */
  run_id: string;
  nodes: ILineageNode[];
  edges: ILineageEdge[];
  /** Runs whose outputs this run used, directly or not. */
  upstream_runs: string[];
  /** Runs that used this run's outputs, directly or not. */
  downstream_runs: string[];
  /**
   * The graph drawn and escaped by the server: upstream left, downstream right; each node
   * is a `g.wb-lineage-node[data-node-id]`, with `data-run-id` on run nodes.
   */
  svg: string;
}

/** The formats GET runs/<run_id>/card can produce. */
export type CardFormat = 'md' | 'html' | 'json';

/** A model card as the server sends it: a file body and its name. */
export interface ICardFile {
  /** The body, undecoded (also for `json`). */
  text: string;
  /** From Content-Disposition, e.g. `diabetes.html`. */
  filename: string;
  /** The media type, from Content-Type, without parameters. */
  mime: string;
}

/** One version of a registered model. */
export interface IModelVersion {
  version: number;
  run_id: string;
  run_name: string;
  sha256: string;
  path: string;
  /** Milliseconds since the epoch. */
  created_at: number;
  /** The aliases that point at this version. */
  aliases: string[];
  /** The final metrics of the run that logged it. */
  metrics: { [name: string]: number };
}

/** One registered model with its versions. */
export interface IRegisteredModel {
  name: string;
  /** Alias to version number. */
  aliases: { [alias: string]: number };
  versions: IModelVersion[];
}

/** GET models */
export interface IModelsReply {
  models: IRegisteredModel[];
}

/** POST models, PUT models/<name>/aliases/<alias>: the version concerned. */
export interface IModelVersionReply {
  name: string;
  version: number;
  run_id: string;
  aliases: string[];
}

/** One metric of GET models/<name>/compare. */
export interface IModelMetricRow {
  metric: string;
  champion: number | null;
  challenger: number | null;
  /** `champion`, `challenger`, or null when equal or missing. */
  better: 'champion' | 'challenger' | null;
}

/** GET models/<name>/compare: a challenger against the champion. */
export interface IModelComparison {
  champion: IModelVersionReply;
  challenger: IModelVersionReply;
  metrics: IModelMetricRow[];
  data_differs: boolean;
  challenger_wins: boolean;
}

/** The charts GET charts can draw. */
export type ChartKind = 'curves' | 'parallel' | 'scatter';

/** GET charts: a Vega-Lite v5 spec built by the server (the one place specs are built). */
export interface IChartReply {
  spec: VisualizationSpec;
}
