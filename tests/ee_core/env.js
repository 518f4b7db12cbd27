// What an unmodified ee-core (2.x or 4.x) needs to run its jobs in plain node, without Electron:
// its EE_* environment (read lazily, and inherited by every job process it forks) and an app
// whose electron/config holds config.default.js and config.local.js. Required first.
//   node <script> <prefix holding node_modules/ee-core> ...
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const prefix = process.argv[2];
const eeCoreDir = path.join(prefix, 'node_modules', 'ee-core');
const version = require(path.join(eeCoreDir, 'package.json')).version;
const app = path.join(__dirname, 'app');
// Logs and the forks' cwd go to a directory of this run's, not into the source tree.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-ee-core-'));
Object.assign(process.env, Number(version.split('.')[0]) >= 4 ? {
  EE_ENV: 'local',
  EE_BASE_DIR: home,  // the cwd of every job process, and the logs' root
  EE_ELECTRON_DIR: path.join(app, 'electron'),
  EE_APP_NAME: 'childproc-tests',
  EE_USER_HOME: os.homedir(),
} : {
  EE_SERVER_ENV: 'local',
  EE_HOME: home,  // the cwd of every job process (it must exist), and the logs' root
  EE_BASE_DIR: path.join(app, 'electron'),
  EE_APP_USER_DATA: home,
});
// The app's jobs require ee-core, as an app's own jobs do: it is found through NODE_PATH.
process.env.NODE_PATH = path.join(prefix, 'node_modules');
process.on('exit', () => {
  try {
    fs.rmSync(home, {recursive: true, force: true});
  } catch (e) {
    // Windows: ee-core's logger still holds its files open; the directory stays in the temp dir.
  }
});

// 2.x exports the classes themselves, 4.x {ChildJob} and {ChildPoolJob}.
function jobsClass(module, name) {
  const exported = require(path.join(eeCoreDir, 'jobs', module));
  return exported[name] || exported;
}

module.exports = {
  version,
  ChildJob: jobsClass('child', 'ChildJob'),
  ChildPoolJob: jobsClass('child-pool', 'ChildPoolJob'),
  timerJob: path.join(app, 'electron', 'jobs', 'example', 'timer.js'),
};
