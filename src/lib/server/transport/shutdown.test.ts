/**
 * The shutdown hook in a real child process: on SIGTERM the streams are closed, and the process
 * then does what it would have done without the hook (exit when nothing else listens; stay up
 * when the app has its own handler, as adapter-node and Vite do); on `sveltekit:shutdown` what
 * would hold it open is let go.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'sse-shutdown-'));
	// The module as Node runs it: TypeScript with its types stripped, nothing else changed.
	const source = await readFile(new URL('./shutdown.ts', import.meta.url), 'utf8');
	const { outputText } = ts.transpileModule(source, {
		compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
	});
	await writeFile(join(dir, 'shutdown.mjs'), outputText);
});

afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

/** Runs `body` after importing the hook; resolves with what it printed and how it ended. */
async function run(body: string) {
	const script = join(dir, `child-${Math.random().toString(36).slice(2)}.mjs`);
	await writeFile(script, `import { closeOnShutdown } from './shutdown.mjs';\n${body}`);
	const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
	let out = '';
	child.stdout.setEncoding('utf8');
	const ready = new Promise<void>((resolve) =>
		child.stdout.on('data', (chunk: string) => {
			out += chunk;
			if (out.includes('ready')) resolve();
		}),
	);
	const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
		child.once('exit', (code, signal) => resolve({ code, signal })),
	);
	const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
	await Promise.race([ready, ended]); // a child that dies early fails below, not by hanging
	child.kill('SIGTERM');
	const end = await ended;
	clearTimeout(timer);
	return { ...end, out };
}

describe('closeOnShutdown', () => {
	it('closes the streams, then lets SIGTERM end a process that has no handler of its own', async () => {
		const result = await run(`
closeOnShutdown(() => console.log('streams closed'));
setInterval(() => {}, 1000); // something that would keep the process up
console.log('ready');
`);
		expect(result.out).toContain('streams closed');
		expect(result.signal).toBe('SIGTERM'); // Node's default: killed by the signal
	});

	it("leaves the exit to the app's own handler (adapter-node, Vite) and calls it too", async () => {
		const result = await run(`
closeOnShutdown(() => console.log('streams closed'));
process.on('SIGTERM', () => {
	console.log('app handler');
	setTimeout(() => process.exit(7), 50); // the app decides how it exits
});
setInterval(() => {}, 1000);
console.log('ready');
`);
		expect(result.out).toContain('streams closed');
		expect(result.out).toContain('app handler');
		expect(result.code).toBe(7);
	});

	it('releases what holds the process open once the server has closed (sveltekit:shutdown)', async () => {
		const result = await run(`
const connection = setInterval(() => {}, 1000); // what a store's Redis connections are to it
closeOnShutdown(
	() => console.log('streams closed'),
	() => {
		console.log('released');
		clearInterval(connection);
	},
);
// adapter-node: on the signal it closes its server, then emits this, and lets the process end.
process.on('SIGTERM', () => setTimeout(() => process.emit('sveltekit:shutdown', 'SIGTERM'), 10));
console.log('ready');
`);
		expect(result.out).toMatch(/streams closed\n[\s\S]*released/);
		expect(result).toMatchObject({ code: 0, signal: null }); // ended by itself, nothing left
	});

	it('stops listening once unregistered', async () => {
		const result = await run(`
const stop = closeOnShutdown(() => console.log('streams closed'), () => console.log('released'));
stop();
console.log('listeners', process.listenerCount('SIGTERM'), process.listenerCount('sveltekit:shutdown'));
setInterval(() => {}, 1000);
console.log('ready');
`);
		expect(result.out).toContain('listeners 0 0');
		expect(result.out).not.toContain('streams closed');
		expect(result.signal).toBe('SIGTERM');
	});
});
