'use strict';
// The least config ee-core's jobs run with: ee-core's own log lines off the console (they would
// mix with the test's output) and written unbuffered (a job's process.exit loses buffered ones).
module.exports = () => ({
  jobs: {messageLog: false},
  logger: {level: 'INFO', consoleLevel: 'NONE', buffer: false},
});
