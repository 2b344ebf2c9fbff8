/**
 * What the runner builds before it measures: the library as an app gets it (`packageLibrary`),
 * and the bench app (bench/app) built for one implementation with `vite build` and adapter-node
 * (`buildApp`), to be started as `node build`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const bin = (name) => path.join(root, 'node_modules/.bin', name);

/**
 * A temporary directory (removed when the runner exits) whose node_modules links to the
 * project's: the library is packaged into it and the apps are built in it, so that what they
 * import resolves as it does in an app.
 */
const workspace = (() => {
	let dir;
	return () => {
		if (dir) return dir;
		dir = mkdtempSync(path.join(os.tmpdir(), 'svelte-sse-kit-bench-'));
		process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
		mkdirSync(path.join(dir, 'node_modules'));
		for (const entry of readdirSync(path.join(root, 'node_modules'))) {
			if (entry === 'svelte-sse-kit' || entry.startsWith('.')) continue;
			symlinkSync(path.join(root, 'node_modules', entry), path.join(dir, 'node_modules', entry));
		}
		return dir;
	};
})();

/**
 * Builds src/lib with svelte-package (after `svelte-kit sync`, whose tsconfig sets the target, as
 * `npm run package` does) into the workspace's `node_modules/svelte-sse-kit/dist`: always
 * current, never dist/. Returns the `dist` directory.
 */
export function packageLibrary() {
	const target = path.join(workspace(), 'node_modules', 'svelte-sse-kit');
	mkdirSync(target);
	copyFileSync(path.join(root, 'package.json'), path.join(target, 'package.json'));
	const quiet = { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] };
	execFileSync(bin('svelte-kit'), ['sync'], quiet);
	const dist = path.join(target, 'dist');
	execFileSync(bin('svelte-package'), ['-i', 'src/lib', '-o', dist, '-t', 'false'], quiet);
	return dist;
}

/**
 * Builds bench/app for `impl` (a file of bench/app/src/impls/) into the workspace, with
 * `svelte-sse-kit/server` taken from the packaged library `pkg`. Resolves with the directory of
 * adapter-node's output (what `node build` runs). Builds of different implementations can run at
 * the same time: each has its own output directory.
 */
export async function buildApp(impl, pkg) {
	const out = path.join(workspace(), `app-${impl}`);
	const vite = path.join(root, 'node_modules/vite/bin/vite.js');
	try {
		await promisify(execFile)(process.execPath, [vite, 'build'], {
			cwd: path.join(here, 'app'),
			env: {
				...process.env,
				NODE_ENV: 'production',
				BENCH_IMPL: impl,
				BENCH_PKG: pkg,
				BENCH_APP_OUT: out,
			},
			timeout: 180_000,
		});
	} catch (error) {
		throw new Error(`vite build of the ${impl} app failed: ${error.stderr ?? error.message}`);
	}
	return path.join(out, 'build');
}
