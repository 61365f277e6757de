// Jest on the TypeScript sources (ts-jest) in JupyterLab's jsdom environment; only
// src/__tests__ is searched, never the compiled lib/.
const jestJupyterLab = require('@jupyterlab/testing/lib/jest-config');

// Dependencies shipped as ES modules, which Babel turns into CommonJS for Jest.
const esModules = [
  '@codemirror',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  '@jupyterlab/',
  '@marijn',
  '@microsoft',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  reporters: ['default'],
  roots: ['<rootDir>/src'],
  testRegex: 'src/__tests__/.*\\.spec\\.tsx?$',
  testPathIgnorePatterns: ['/lib/', '/node_modules/'],
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
