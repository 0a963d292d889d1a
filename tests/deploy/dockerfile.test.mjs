// What can be checked of the Dockerfile without a Docker engine: its stages
// and steps, that it agrees with deploy/k8s (uid, ports), that it bakes in no
// secret, and, against this Debian 12 machine's dpkg database and the built
// binaries, that the runtime stage installs real bookworm packages which
// provide every shared library the binaries load.
import assert from 'node:assert/strict';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as debian from './lib/debian.mjs';
import { aptInstalledPackages, execForm, instructionsOf, parseDockerfile } from './lib/dockerfile.mjs';
import { render } from './lib/kustomize.mjs';
import { RUNTIME_UID } from './lib/policy.mjs';
import { builtBinary, K8S_DIR, REPO_ROOT } from './lib/repo.mjs';

const BINARIES = ['halopsa-server', 'halopsa-cli', 'halopsa-sim'];
const REQUIRED_RUNTIME_PACKAGES = [
  'ca-certificates', 'libabsl20220623', 'libgrpc++1.51', 'libhiredis0.14', 'libprotobuf32', 'libssl3', 'libstdc++6', 'zlib1g',
];

const stages = parseDockerfile(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const [build, runtime] = [stages[0], stages.at(-1)];
const runtimePackages = aptInstalledPackages(runtime);

test('two stages: debian:12 builds, debian:12-slim runs', () => {
  assert.equal(stages.length, 2);
  assert.deepEqual([build.image, build.name], ['debian:12', 'build']);
  assert.equal(runtime.image, 'debian:12-slim');
});

test('the build stage runs the project scripts: install-deps.sh, then a Release build without tests', () => {
  const runs = instructionsOf(build, 'RUN');
  const install = runs.findIndex((r) => r.includes('./scripts/install-deps.sh'));
  const compile = runs.findIndex((r) => /BUILD_TYPE=Release \.\/scripts\/build\.sh -DHALOPSA_BUILD_TESTS=OFF/.test(r));
  assert.ok(install >= 0 && compile > install, runs.join('\n'));
  for (const script of ['install-deps.sh', 'build.sh']) accessSync(path.join(REPO_ROOT, 'scripts', script), constants.X_OK);
  // The -D option reaches CMake only because build.sh forwards its arguments.
  assert.match(readFileSync(path.join(REPO_ROOT, 'scripts/build.sh'), 'utf8'), /cmake .*"\$@"/);
  assert.match(readFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), 'utf8'), /option\(HALOPSA_BUILD_TESTS /);
});

test('the runtime stage installs runtime libraries only, without recommends, and drops the apt lists', () => {
  for (const p of REQUIRED_RUNTIME_PACKAGES) assert.ok(runtimePackages.includes(p), `${p} missing`);
  assert.deepEqual(runtimePackages.filter((p) => /-dev$|^build-essential$|^cmake$|^g\+\+/.test(p)), []);
  const run = instructionsOf(runtime, 'RUN').find((r) => r.includes('apt-get install'));
  assert.match(run, /--no-install-recommends/);
  assert.match(run, /rm -rf \/var\/lib\/apt\/lists\/\*/);
});

test('the image runs as the numeric non-root uid the pods use', () => {
  const users = instructionsOf(runtime, 'USER');
  assert.deepEqual(users, [`${RUNTIME_UID}:${RUNTIME_UID}`]);
  assert.ok(instructionsOf(runtime, 'RUN').some((r) => r.includes(`useradd --uid ${RUNTIME_UID} --gid ${RUNTIME_UID}`)));
  const deployment = render(path.join(K8S_DIR, 'base')).find((o) => o.kind === 'Deployment');
  assert.equal(deployment.spec.template.spec.securityContext.runAsUser, RUNTIME_UID);
});

test('EXPOSE lists exactly the ports of the Deployment, ENTRYPOINT is halopsa-server in exec form', () => {
  const exposed = instructionsOf(runtime, 'EXPOSE').flatMap((e) => e.split(' ')).map(Number).sort();
  const deployment = render(path.join(K8S_DIR, 'base')).find((o) => o.kind === 'Deployment');
  const ports = deployment.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => p.containerPort)).sort();
  assert.deepEqual(exposed, ports);
  assert.deepEqual(instructionsOf(runtime, 'ENTRYPOINT').map(execForm), [['/usr/local/bin/halopsa-server']]);
  const copies = instructionsOf(runtime, 'COPY').join(' ');
  for (const binary of BINARIES) assert.ok(copies.includes(`/src/build/bin/${binary}`), `${binary} not copied`);
  assert.match(copies, /^--from=build .* \/usr\/local\/bin\/$/);
});

test('no secret is baked into the image', () => {
  for (const stage of stages) {
    for (const setting of [...instructionsOf(stage, 'ENV'), ...instructionsOf(stage, 'ARG')]) {
      assert.doesNotMatch(setting, /SECRET|PASSWORD|TOKEN|_KEY\b/i);
    }
  }
  assert.doesNotMatch(instructionsOf(runtime, 'COPY').join(' '), /\.key\b|\.pem\b|testdata|secret/i);
});

test('.dockerignore keeps host build trees, git metadata and node_modules out of the context', () => {
  const patterns = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ignored = (name) => patterns.some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(name));
  for (const name of ['build', '.git', 'build-release']) assert.ok(ignored(name), `${name} not ignored`);
  assert.ok(patterns.includes('**/node_modules'));
  for (const entry of readdirSync(REPO_ROOT).filter((e) => /^build/.test(e))) assert.ok(ignored(entry), `${entry} not ignored`);
});

const noDpkg = debian.hasDpkg() ? false : 'dpkg-query, ldd or readelf is missing (not a Debian machine)';

test('the runtime packages are Debian 12 packages (installed here as the build\'s own dependencies)', { skip: noDpkg }, () => {
  assert.match(debian.debianRelease(), /^12\./, 'package names are checked against Debian 12 (bookworm)');
  const status = debian.installed(runtimePackages);
  assert.deepEqual(runtimePackages.filter((p) => !status.get(p)), []);
});

for (const name of BINARIES) {
  const binary = builtBinary(name);
  test(`${name}: every library it loads comes from the runtime packages`, { skip: noDpkg || (!binary && `${name} is not built`) }, () => {
    assert.deepEqual(debian.runtimeLibraryProblems(binary, runtimePackages), []);
  });
}

const server = builtBinary('halopsa-server');
test('the library check notices a missing runtime package', { skip: noDpkg || (!server && 'halopsa-server is not built') }, () => {
  const without = (name) => debian.runtimeLibraryProblems(server, runtimePackages.filter((p) => p !== name));
  assert.ok(without('libgrpc29').includes('libgpr.so.29: linked directly, but its package libgrpc29 is not named'));
  assert.ok(without('libhiredis0.14').includes('libhiredis.so.0.14: from libhiredis0.14, which the image does not install'));
  assert.ok(without('libssl3').some((p) => /^libssl\.so\.3: linked directly, but its package libssl3 is not named$/.test(p)));
  const onlyCa = debian.runtimeLibraryProblems(server, ['ca-certificates']);
  assert.ok(onlyCa.includes('libprotobuf.so.32: from libprotobuf32, which the image does not install'), onlyCa.join('\n'));
});
