// The manifests configure halopsa-server only through variables it reads, with
// values it accepts. Needs the built binary (scripts/build.sh); skipped
// without it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { render } from './lib/kustomize.mjs';
import { containerEnvironment } from './lib/policy.mjs';
import { builtBinary, K8S_DIR } from './lib/repo.mjs';

const server = builtBinary('halopsa-server');
const skip = server ? false : 'halopsa-server is not built';
const targets = ['base', ...readdirSync(path.join(K8S_DIR, 'overlays')).map((d) => `overlays/${d}`)];

// The environment the server container starts with.
function serverEnvironment(target) {
  const objects = render(path.join(K8S_DIR, target));
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'halopsa-server');
  return Object.fromEntries(containerEnvironment(objects, deployment, container));
}

for (const target of targets) {
  test(`${target}: halopsa-server knows every variable the manifests set`, { skip }, () => {
    const help = spawnSync(server, ['--helpfull'], { encoding: 'utf8' });
    const flags = new Set([...`${help.stdout}${help.stderr}`.matchAll(/^\s+--([a-z0-9_]+) /gm)].map((m) => m[1]));
    assert.ok(flags.has('grpc_listen'), 'could not read the flag list from --helpfull');
    // Variables outside the HALOPSA_<FLAG> scheme (LC_*) are read by name.
    const binary = readFileSync(server).toString('latin1');
    const unknown = Object.keys(serverEnvironment(target)).filter((name) =>
      name.startsWith('HALOPSA_') ? !flags.has(name.slice('HALOPSA_'.length).toLowerCase()) : !binary.includes(name));
    assert.deepEqual(unknown, []);
  });

  test(`${target}: halopsa-server accepts every value the manifests set`, { skip }, () => {
    // The server applies HALOPSA_* variables before it handles --helpfull, so a
    // value that does not parse fails here the way it would fail the pod.
    const result = spawnSync(server, ['--helpfull'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...serverEnvironment(target) },
    });
    assert.match(result.stdout + result.stderr, /Flags from/);
    assert.doesNotMatch(result.stdout + result.stderr, /^halopsa-server: [A-Z_]+:/m);
  });
}
