#!/usr/bin/env node
// The `devloop` command of the npm package: finds the binary in the package
// for this platform and hands over to it. devloop supervises processes, so its
// signals, exit status and terminal must reach it untouched: where node has
// process.execve (22.15+, 23.11+) this process becomes devloop; elsewhere it
// runs devloop as a child with the same stdio, forwards SIGINT, SIGTERM and
// SIGHUP, and ends the way devloop ended (its status, or its signal).
'use strict';

const PACKAGES = {
  // Filled in by scripts/npm-packages from the crate's version.
  scope: '@@SCOPE@@',
  version: '@@VERSION@@',
  // `${process.platform}-${process.arch}` -> the package carrying the binary.
  platforms: ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'],
};

function fail(lines) {
  process.stderr.write(lines.map((line) => `devloop: ${line}\n`).join(''));
  process.exit(1);
}

function findBinary() {
  const override = process.env.DEVLOOP_BINARY;
  if (override) return override;
  const platform = `${process.platform}-${process.arch}`;
  const name = `${PACKAGES.scope}/${platform}`;
  if (!PACKAGES.platforms.includes(platform)) {
    fail([
      `there is no prebuilt devloop for ${platform} (there is for ${PACKAGES.platforms.join(', ')}).`,
      'Build it from source with cargo (see the README) and point DEVLOOP_BINARY at the binary.',
    ]);
  }
  try {
    return require.resolve(`${name}/bin/devloop`);
  } catch {
    fail([
      `the package ${name}@${PACKAGES.version}, which carries the devloop binary for ${platform}, is not installed.`,
      'The package manager should have installed it as an optional dependency. If the lockfile was written',
      'on another platform, npm may have left it out (npm/cli#4828): delete node_modules and the lockfile',
      `and install again, or add it yourself: npm i -D ${name}@${PACKAGES.version}`,
      'If optional dependencies are turned off (--omit=optional, --no-optional), turn them back on.',
      'Or point DEVLOOP_BINARY at a devloop binary.',
    ]);
  }
}

const binary = findBinary();
const args = process.argv.slice(2);

if (typeof process.execve === 'function' && !process.env.DEVLOOP_LAUNCHER_SPAWN) {
  try {
    process.execve(binary, [binary, ...args], process.env);
  } catch (error) {
    fail([`cannot run ${binary}: ${error.message}`]);
  }
}

const { spawn } = require('child_process');
const { constants } = require('os');

const child = spawn(binary, args, { stdio: 'inherit' });
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const forward = (signal) => {
  // Sent to devloop only: at a terminal, Ctrl-C reaches devloop by itself too,
  // and devloop takes a second SIGINT as the same request to quit.
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of forwarded) process.on(signal, forward);

child.on('error', (error) => {
  fail([`cannot run ${binary}: ${error.message}`]);
});
child.on('exit', (code, signal) => {
  if (signal === null) process.exit(code);
  // Die of the same signal, so whoever started us sees what devloop saw.
  for (const name of forwarded) process.removeListener(name, forward);
  process.kill(process.pid, signal);
  // A signal node does not die of by default (or could not raise): the
  // shell's convention for "killed by signal N".
  setTimeout(() => process.exit(128 + (constants.signals[signal] || 0)), 100);
});
