// A fresh SvelteKit app made from the README's "Add it to your app" files, with the packed
// package installed in it: what a new user gets who follows the README in an app from `npx sv
// create`. No code of the demo goes into it.
//
// ```ts
// const app = await createFreshApp(readmeAppFiles()); // a temp dir with node_modules
// run(app.dir, 'svelte-check', ['--fail-on-warnings']);
// ```
//
// The install is offline: every package the app needs is linked from the project's own
// node_modules (the versions its lockfile pins), and `svelte-sse-kit` is the tarball `npm pack`
// makes of the freshly packaged library, unpacked as npm would.
import { execFileSync, spawnSync } from 'node:child_process';
import {
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { repoRoot } from './built-app.js';

export interface AppFile {
	/** Relative to the app's root, e.g. `src/lib/topics.ts`. */
	path: string;
	text: string;
}

const SECTION = '## Add it to your app';
/** A block names its file on its first line: `// src/… (a comment)` or `<!-- src/… -->`. */
const NAMED_BLOCK =
	/^```(?:ts|svelte)\n((?:\/\/|<!--) (src\/[\w/.+\-[\]]+)[^\n]*\n[\s\S]*?)^```$/gm;

/** The files of the README's "Add it to your app" section, as the README shows them. */
export function readmeAppFiles(
	readme = readFileSync(join(repoRoot, 'README.md'), 'utf8'),
): AppFile[] {
	const start = readme.indexOf(SECTION);
	if (start < 0) throw new Error(`README.md has no "${SECTION}" section.`);
	const end = readme.indexOf('\n## ', start + SECTION.length);
	const section = readme.slice(start, end < 0 ? undefined : end);
	const files: AppFile[] = [];
	// The naming line stays in the file: it is a comment in either language.
	for (const [, text, path] of section.matchAll(NAMED_BLOCK)) {
		if (path && text) files.push({ path, text });
	}
	const paths = files.map((file) => file.path);
	const twice = paths.filter((path, index) => paths.indexOf(path) !== index);
	if (twice.length > 0) throw new Error(`The README shows ${twice.join(', ')} more than once.`);
	return files;
}

/** What `npx sv create` and `npm install <tarball>` write, at the versions this project pins. */
function packageJson(tarball: string): AppFile {
	const project = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
		devDependencies: Record<string, string>;
	};
	const pinned = (names: string[]) =>
		Object.fromEntries(names.map((name) => [name, project.devDependencies[name]]));
	const manifest = {
		name: 'fresh-app',
		private: true,
		type: 'module',
		// vite-plugin-svelte compiles (rather than externalizes) the Svelte libraries it finds here.
		devDependencies: {
			...pinned([
				'@sveltejs/adapter-node',
				'@sveltejs/kit',
				'@sveltejs/vite-plugin-svelte',
				'svelte',
				'svelte-check',
				'typescript',
				'vite',
				'zod',
			]),
			'svelte-sse-kit': `file:${tarball}`,
		},
	};
	return { path: 'package.json', text: `${JSON.stringify(manifest, null, '\t')}\n` };
}

/**
 * The other files `npx sv create` (minimal, TypeScript) makes that the README does not show: its
 * `app.html`, `vite.config.ts` and `tsconfig.json` as the auth example's app has them, and a
 * `svelte.config.js` that takes the package from node_modules (that app's aliases the source).
 */
const FROM_AUTH_APP = ['src/app.html', 'vite.config.ts', 'tsconfig.json'];
const SCAFFOLD: AppFile[] = [
	...FROM_AUTH_APP.map((path) => ({
		path,
		text: readFileSync(join(repoRoot, 'tests/fixtures/auth-app', path), 'utf8'),
	})),
	{
		path: 'svelte.config.js',
		text: `import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default { preprocess: vitePreprocess(), kit: { adapter: adapter() } };
`,
	},
];

export interface FreshApp {
	dir: string;
	/** Removes the app's directory. */
	remove(): void;
}

/** Packs the library (svelte-package, then `npm pack`) into `into`; returns the tarball's path. */
function packLibrary(into: string): string {
	execFileSync(process.execPath, [bin('svelte-package')], { cwd: repoRoot, stdio: 'pipe' });
	const out = execFileSync(
		'npm',
		['pack', '--ignore-scripts', '--json', '--pack-destination', into],
		{
			cwd: repoRoot,
			encoding: 'utf8',
		},
	);
	const [packed] = JSON.parse(out) as { filename: string }[];
	if (!packed) throw new Error(`npm pack printed no tarball: ${out}`);
	return join(into, packed.filename);
}

/** The script of a package's bin in the project's node_modules (run with `node`). */
export function bin(name: string): string {
	return join(repoRoot, 'node_modules', '.bin', name);
}

/** A new app in a temp dir: the scaffold, then `files` (a README file replaces a scaffold one). */
export async function createFreshApp(files: readonly AppFile[]): Promise<FreshApp> {
	const dir = mkdtempSync(join(tmpdir(), 'sse-fresh-app-'));
	const tarball = packLibrary(dir);
	const byPath = new Map<string, string>();
	for (const file of [packageJson(`./${basename(tarball)}`), ...SCAFFOLD, ...files]) {
		byPath.set(file.path, file.text);
	}
	for (const [path, text] of byPath) {
		await mkdir(dirname(join(dir, path)), { recursive: true });
		writeFileSync(join(dir, path), text);
	}
	const modules = join(dir, 'node_modules');
	await mkdir(modules);
	for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
		if (entry === 'svelte-sse-kit' || entry === '.vite' || entry === '.package-lock.json') continue;
		symlinkSync(join(repoRoot, 'node_modules', entry), join(modules, entry));
	}
	const target = join(modules, 'svelte-sse-kit');
	await mkdir(target);
	execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunResult {
	status: number | null;
	output: string;
}

/** Runs a package's bin in the app (`svelte-check`, `vite`…), with its output. */
export function runIn(dir: string, name: string, args: readonly string[]): RunResult {
	const result = spawnSync(process.execPath, [bin(name), ...args], {
		cwd: dir,
		encoding: 'utf8',
		env: { ...process.env, NODE_ENV: name === 'vite' ? 'production' : process.env.NODE_ENV },
		timeout: 240_000,
	});
	return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
