import { describe, expect, it } from 'vitest';
import { randomId } from './random-id.js';

describe('randomId', () => {
	it('is 22 URL- and cookie-safe characters', () => {
		for (let i = 0; i < 100; i++) expect(randomId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
	});

	it('does not repeat, and uses every character of its alphabet', () => {
		const ids = Array.from({ length: 2000 }, randomId);
		expect(new Set(ids).size).toBe(ids.length);
		// 44,000 characters from 64: a missing one would mean a biased or broken mapping.
		expect(new Set(ids.join('')).size).toBe(64);
	});
});
