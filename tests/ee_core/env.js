// What an unmodified ee-core 2.x needs to run its jobs in plain node (no Electron): its EE_*
// environment (read lazily, and inherited by every job process it forks) and an app whose
// electron/config holds config.default.js and config.<EE_SERVER_ENV>.js. Required first.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const app = path.join(__dirname, 'app');
// Logs and the forks' cwd go to a directory of this run's, not into the source tree.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-ee-core-'));
Object.assign(process.env, {
  EE_MODE: 'framework',
  EE_SERVER_ENV: 'local',
  EE_HOME: home,  // the cwd of every job process (it must exist), and the logs' root
  EE_BASE_DIR: path.join(app, 'electron'),
  EE_APP_USER_DATA: home,
  EE_EXEC_DIR: home,
  EE_USER_HOME: os.homedir(),
  EE_APP_NAME: 'childproc-tests',
  EE_APP_VERSION: '1.0.0',
});
process.on('exit', () => {
  try {
    fs.rmSync(home, {recursive: true, force: true});
  } catch (e) {
    // Windows: ee-core's logger still holds its files open; the directory stays in the temp dir.
  }
});

// The ee-core package is installed under the directory given as the first argument (the build's,
// by the ee_core.install test); the job processes find it, as the app's own jobs require it,
// through NODE_PATH.
const prefix = process.argv[2];
process.env.NODE_PATH = path.join(prefix, 'node_modules');
function eeCore(module) {
  return require(path.join(prefix, 'node_modules', 'ee-core', module));
}

module.exports = {
  eeCore,
  timerJob: path.join(app, 'electron', 'jobs', 'example', 'timer.js'),
};
