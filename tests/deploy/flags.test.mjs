// The manifests configure halopsa-server only through variables it reads, with
// values it accepts. Needs the built binary (scripts/build.sh); skipped
// without it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { render } from './lib/kustomize.mjs';
import { containerEnvironment, expansionsOf } from './lib/policy.mjs';
import { builtBinary, K8S_DIR } from './lib/repo.mjs';

const server = builtBinary('halopsa-server');
const skip = server ? false : 'halopsa-server is not built';
const targets = ['base', ...readdirSync(path.join(K8S_DIR, 'overlays')).map((d) => `overlays/${d}`)];

// A stand-in for values the kubelet takes from Secrets (hex, like the
// passwords deploy/README.md asks for).
const SECRET_STAND_IN = '0123456789abcdef';

// The environment the server container starts with, $(NAME) references
// expanded as the kubelet does; `composed`: the variables that only feed
// such references (not read by the server).
function serverEnvironment(target) {
  const objects = render(path.join(K8S_DIR, target));
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'halopsa-server');
  const env = containerEnvironment(objects, deployment, container);
  for (const e of container.env ?? []) if (e.valueFrom?.secretKeyRef) env.set(e.name, SECRET_STAND_IN);
  const composed = new Set([...env.values()].flatMap(expansionsOf));
  for (const [name, value] of env) env.set(name, value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (text, ref) => env.get(ref) ?? text));
  return { env: Object.fromEntries(env), composed };
}

for (const target of targets) {
  test(`${target}: halopsa-server knows every variable the manifests set`, { skip }, () => {
    const help = spawnSync(server, ['--helpfull'], { encoding: 'utf8' });
    const flags = new Set([...`${help.stdout}${help.stderr}`.matchAll(/^\s+--([a-z0-9_]+) /gm)].map((m) => m[1]));
    assert.ok(flags.has('grpc_listen'), 'could not read the flag list from --helpfull');
    // Variables outside the HALOPSA_<FLAG> scheme (LC_*) are read by name.
    const binary = readFileSync(server).toString('latin1');
    const { env, composed } = serverEnvironment(target);
    const unknown = Object.keys(env).filter((name) => !composed.has(name) &&
      (name.startsWith('HALOPSA_') ? !flags.has(name.slice('HALOPSA_'.length).toLowerCase()) : !binary.includes(name)));
    assert.deepEqual(unknown, []);
  });

  test(`${target}: halopsa-server accepts every value the manifests set`, { skip }, () => {
    // The server applies HALOPSA_* variables before it handles --helpfull, so a
    // value that does not parse fails here the way it would fail the pod.
    const result = spawnSync(server, ['--helpfull'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...serverEnvironment(target).env },
    });
    assert.match(result.stdout + result.stderr, /Flags from/);
    assert.doesNotMatch(result.stdout + result.stderr, /"msg":"not_started"/);
  });
}
