/**
 * Where a server's CPU went: self time by function and by source file from a V8 `.cpuprofile`
 * (written by `npm run bench -- --profile <dir>`), without opening DevTools.
 *
 *   node bench/profile-summary.mjs <dir>/svelte-sse-kit-….cpuprofile [top=25] [last-seconds]
 *
 * With `last-seconds`, only the end of the profile counts (the last phase of a run, without the
 * connection setup before it).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [file, topArg, lastArg] = process.argv.slice(2);
if (!file) {
	console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]');
	process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));

// Each sample names the node that was on top of the stack; its time is the gap to the next one.
const selfUs = new Map();
const from = lastArg ? profile.endTime - Number(lastArg) * 1e6 : Number.NEGATIVE_INFINITY;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
	at += profile.timeDeltas[i];
	if (at < from) continue;
	const id = profile.samples[i];
	selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const byFunction = new Map();
const byFile = new Map();
for (const node of profile.nodes) {
	const us = selfUs.get(node.id) ?? 0;
	if (us === 0) continue;
	const { functionName, url, lineNumber } = node.callFrame;
	const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '(native)';
	const key = `${functionName || '(anonymous)'} ${where}`;
	byFunction.set(key, (byFunction.get(key) ?? 0) + us);
	const source = url
		? url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(bench|tmp)\//, '')
		: functionName;
	byFile.set(source, (byFile.get(source) ?? 0) + us);
}

// Inclusive time: a node's self time plus its subtree's, summed per function (the outermost
// frame of a recursive function is counted once per path, which is enough for this use).
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const inclusive = new Map();
function subtree(node, open) {
	let us = selfUs.get(node.id) ?? 0;
	const { functionName, url, lineNumber } = node.callFrame;
	const key = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : '(native)'}`;
	const nested = open.has(key);
	open.add(key);
	for (const child of node.children ?? []) us += subtree(nodes.get(child), open);
	if (!nested) {
		open.delete(key);
		inclusive.set(key, (inclusive.get(key) ?? 0) + us);
	}
	return us;
}
subtree(profile.nodes[0], new Set());
inclusive.delete(`(root) (native)`);

const show = (title, map) => {
	console.log(`\n${title}`);
	for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
		console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
	}
};
console.log(`${path.basename(file)}: ${(total / 1e6).toFixed(2)} s sampled`);
show('self time by function', byFunction);
show('self time by file', byFile);
show('total time (self and callees) by function', inclusive);
