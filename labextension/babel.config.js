// Jest transforms the JavaScript of ES-module dependencies with Babel.
module.exports = require('@jupyterlab/testing/lib/babel-config');
