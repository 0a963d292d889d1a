// Where the repository and its build outputs are.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const K8S_DIR = path.join(REPO_ROOT, 'deploy/k8s');

// A binary built by scripts/build.sh (BUILD_DIR as there), or undefined when
// it has not been built.
export function builtBinary(name) {
  const file = path.resolve(REPO_ROOT, process.env.BUILD_DIR ?? 'build', 'bin', name);
  return existsSync(file) ? file : undefined;
}
