/**
 * The Workbench icon (a line chart over a flask-like frame).
 */
import { LabIcon } from '@jupyterlab/ui-components';

// `jp-icon3` + the #616161 fill is JupyterLab's convention: themes recolour the path.
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 3h2v16h16v2H3z"/>
    <path d="M7 15.6l4.2-5.3 3.2 2.6 4.3-6.1 1.6 1.2-5.5 7.8-3.2-2.6-3 3.7z"/>
    <circle cx="11.2" cy="10.3" r="1.3"/>
    <circle cx="18.7" cy="6.8" r="1.3"/>
  </g>
</svg>`;

/**
 * The icon of the side panel tab, the compare tabs and the commands.
 */
export const workbenchIcon = new LabIcon({ name: 'jupyterlab-workbench:icon', svgstr: svg });
