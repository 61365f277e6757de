/**
 * Mapping the notebook paths runs record to paths JupyterLab can open.
 */
import { PageConfig } from '@jupyterlab/coreutils';

/**
 * The contents-API path of a recorded notebook, if it lies under the server root.
 *
 * Runs record the notebook's absolute file path (the kernel knows no other), while the
 * document manager opens paths relative to the server root.
 *
 * @param recorded - `context.notebook_path` of a run.
 * @returns The relative path, or null when there is none or it is outside the root.
 */
export function contentsPath(recorded: string | null | undefined): string | null {
  if (!recorded || recorded === 'unknown') {
    return null;
  }
  const path = recorded.replace(/\\/g, '/');
  if (!path.startsWith('/') && !/^[A-Za-z]:\//.test(path)) {
    return path; // Already relative to the root.
  }
  const root = PageConfig.getOption('serverRoot').replace(/\\/g, '/').replace(/\/+$/, '');
  // A root given as ~/... cannot be expanded in the browser; such paths stay unopenable.
  if (root && path.startsWith(`${root}/`)) {
    return path.slice(root.length + 1);
  }
  return null;
}
