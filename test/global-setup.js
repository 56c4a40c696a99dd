// Some tests start the server as a separate process (signals, kill -9): they need the compiled build.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = () => {
  const root = path.join(__dirname, '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
};
