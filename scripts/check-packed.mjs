// After `svelte-package`: the files `npm pack` would publish must not import test tooling, and
// test support (src/lib/testing) must not be among them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TEST_TOOLING =
	/from\s+['"](vitest|@testing-library\/[^'"]+|playwright-core|eventsource-parser)['"]/;
const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']));
const problems = [];
for (const { path } of pack.files) {
	if (path.startsWith('dist/testing/')) problems.push(`${path}: test support is packed`);
	if (!/\.(js|ts|svelte)$/.test(path)) continue;
	const match = TEST_TOOLING.exec(readFileSync(path, 'utf8'));
	if (match) problems.push(`${path}: imports ${match[1]}`);
}
if (problems.length > 0) {
	console.error(`The package would ship test code:\n${problems.join('\n')}`);
	process.exit(1);
}
console.log(`check-packed: ${pack.files.length} files, none of them test code.`);
