// The offline renderer (lib/kustomize.mjs) must output exactly what real
// kustomize does for deploy/k8s. Runs wherever `kubectl kustomize` (kustomize
// v5) is installed, e.g. this project's development and CI machines; skipped
// elsewhere, where the renderer alone validates the manifests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { idOf, render } from './lib/kustomize.mjs';
import { K8S_DIR } from './lib/repo.mjs';

function kustomizeVersion() {
  const result = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return result.status === 0 ? /Kustomize Version: v(\d+)\S*/.exec(result.stdout)?.[1] : undefined;
}

const version = kustomizeVersion();
const skip = version === undefined ? 'kubectl with kustomize is not installed' :
  Number(version) < 5 ? `kubectl bundles kustomize v${version}, older than v5` : false;

const targets = ['base', ...readdirSync(path.join(K8S_DIR, 'overlays')).map((d) => `overlays/${d}`)];
for (const target of targets) {
  test(`${target}: the offline renderer matches kubectl kustomize`, { skip }, () => {
    const dir = path.join(K8S_DIR, target);
    const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const expected = new Map(parseAllDocuments(result.stdout, { version: '1.1' }).map((d) => d.toJS()).map((o) => [idOf(o), o]));
    const actual = new Map(render(dir).map((o) => [idOf(o), o]));
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [id, obj] of actual) assert.deepEqual(obj, expected.get(id), id);
  });
}
