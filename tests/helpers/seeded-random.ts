// Seeded randomness for the model-based tests: a failing sequence replays from its seed alone.
/**
 * A small seeded pseudo-random generator (mulberry32) for the model-based tests: the same seed
 * gives the same sequence of choices, so a failing sequence replays from its seed alone.
 */
export interface Random {
	/** The seed this generator started from. */
	readonly seed: number;
	/** A float in [0, 1). */
	next(): number;
	/** An integer in [min, max], both included. */
	int(min: number, max: number): number;
	/** True with probability `p`. */
	chance(p: number): boolean;
	pick<T>(items: readonly T[]): T;
	/** A random non-empty subset (at least `min` items), in the order of `items`. */
	subset<T>(items: readonly T[], min?: number): T[];
	/** An item chosen with probability proportional to its weight. */
	weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T;
}

export function seededRandom(seed: number): Random {
	let state = seed >>> 0;
	const next = () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
	const pick = <T>(items: readonly T[]): T => {
		if (items.length === 0) throw new RangeError('pick from an empty list');
		return items[int(0, items.length - 1)] as T;
	};
	return {
		seed: seed >>> 0,
		next,
		int,
		chance: (p) => next() < p,
		pick,
		subset<T>(items: readonly T[], min = 1): T[] {
			for (let attempt = 0; attempt < 100; attempt++) {
				const chosen = items.filter(() => next() < 0.5);
				if (chosen.length >= Math.min(min, items.length)) return chosen;
			}
			return items.slice(0, min);
		},
		weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
			const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
			let roll = next() * total;
			for (const [choice, weight] of choices) {
				roll -= weight;
				if (roll < 0) return choice;
			}
			return pick(choices)[0];
		},
	};
}
