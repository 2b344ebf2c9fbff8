// Starts the production build (`node build`, adapter-node) as a child process on a free
// 127.0.0.1 port, waits until it answers HTTP, and stops it again.
//
// ```ts
// let app: BuiltApp;
// beforeEach(async () => { app = await startBuiltApp(); });
// afterEach(() => app.stop());
// ```
//
// `npm test` runs `vite build` first; when running a single file, run `npm run build` yourself.
//
// The demo's knobs come through `env` (see `src/demo/server/config.server.ts`), e.g. fast feeds:
// `startBuiltApp({ env: { DEMO_LOG_MS: '100', DEMO_NOTIFY_MS: '150' } })`. To restart "the same"
// server after killing it, start the next one with `{ port: previous.port }`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds a fixture app (`vite build` in `appDir`) from the current source, so that a test never
 * runs an old build of it. The project's own build is `npm run build`'s.
 */
export async function buildApp(appDir: string): Promise<void> {
	const vite = join(repoRoot, 'node_modules/vite/bin/vite.js');
	await promisify(execFile)(process.execPath, [vite, 'build'], { cwd: appDir });
}

export interface BuiltAppOptions {
	/** Extra environment for the server (e.g. `SHUTDOWN_TIMEOUT`); overrides the defaults below. */
	env?: Record<string, string>;
	/** How long the server may take to answer HTTP. @default 5000 */
	readyTimeoutMs?: number;
	/**
	 * Listen on this port instead of a free one: e.g. the port of a server a test has just killed,
	 * to bring "the same server" back. `ORIGIN` follows it.
	 */
	port?: number;
	/** The app whose `build/` to start. @default the project itself (the demo) */
	appDir?: string;
}

export interface ExitInfo {
	code: number | null;
	signal: NodeJS.Signals | null;
	/** `performance.now()` when the child's 'exit' event fired. */
	at: number;
}

export interface BuiltApp {
	/** `http://127.0.0.1:<port>` */
	url: string;
	port: number;
	child: ChildProcess;
	/** Everything the server wrote so far. */
	stdout(): string;
	stderr(): string;
	/** Resolves when the process exits (never rejects). */
	exited: Promise<ExitInfo>;
	/** Sends a signal (SIGTERM by default) and resolves with the exit. */
	kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
	/** Ends the process for sure (SIGKILL if it is still running); safe to call twice. */
	stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A safety net for a test runner that dies mid-test: no server outlives it.
process.once('exit', () => {
	for (const child of running) child.kill('SIGKILL');
});

export async function startBuiltApp(options: BuiltAppOptions = {}): Promise<BuiltApp> {
	const appDir = options.appDir ?? repoRoot;
	const entry = join(appDir, 'build', 'index.js');
	if (!existsSync(entry)) {
		throw new Error(
			`${entry} does not exist: build the app first with \`npm run build\` (\`npm test\` does it for you).`,
		);
	}
	const port = options.port ?? (await freePort());
	const url = `http://127.0.0.1:${port}`;
	const child = spawn(process.execPath, ['build'], {
		cwd: appDir,
		env: {
			...process.env,
			NODE_ENV: 'production',
			HOST: '127.0.0.1',
			PORT: String(port),
			// Without ORIGIN (or PROTOCOL_HEADER) adapter-node assumes https, so `url.protocol` would
			// be 'https:' on this plain-http server (and cookies would get `Secure`).
			ORIGIN: url,
			...options.env,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	running.add(child);
	let out = '';
	let err = '';
	child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
		out += chunk;
	});
	child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
		err += chunk;
	});
	const exited = new Promise<ExitInfo>((resolve) => {
		child.once('exit', (code, signal) => {
			running.delete(child);
			resolve({ code, signal, at: performance.now() });
		});
		child.once('error', (error) => {
			running.delete(child);
			err += `\n[spawn error] ${error.message}`;
			resolve({ code: null, signal: null, at: performance.now() });
		});
	});
	// An object, so TypeScript does not narrow it to `null` for good in the loop below.
	const state: { exit: ExitInfo | null } = { exit: null };
	void exited.then((info) => {
		state.exit = info;
	});

	const app: BuiltApp = {
		url,
		port,
		child,
		stdout: () => out,
		stderr: () => err,
		exited,
		kill(signal = 'SIGTERM') {
			if (!state.exit) child.kill(signal);
			return exited;
		},
		async stop() {
			if (!state.exit) child.kill('SIGKILL');
			await exited;
		},
	};

	const timeout = options.readyTimeoutMs ?? 5000;
	const deadline = performance.now() + timeout;
	for (;;) {
		if (state.exit) {
			const { code, signal } = state.exit;
			throw new Error(
				`\`node build\` exited (code ${code}, signal ${signal}) before answering on ${url}.\nstderr:\n${err || '(empty)'}\nstdout:\n${out || '(empty)'}`,
			);
		}
		try {
			// Any HTTP answer will do: the server is listening and the app is loaded.
			const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
			await response.body?.cancel();
			return app;
		} catch {
			// not listening yet
		}
		if (performance.now() > deadline) {
			await app.stop();
			throw new Error(
				`\`node build\` did not answer HTTP on ${url} within ${timeout} ms.\nstderr:\n${err || '(empty)'}\nstdout:\n${out || '(empty)'}`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}
