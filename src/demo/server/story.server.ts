// The demo's story chat: a short story told line by line to one session.
import type { StoryLine } from '../topics.js';
import { config } from './config.server.js';
import { hub } from './hub.server.js';

/** One scene: lines told one by one, then a question whose answer picks the next scene. */
interface Scene {
	lines: string[];
	prompt?: { text: string; choices: string[]; next: (reply: string) => string };
}

const SCENES: Record<string, Scene> = {
	intro: {
		lines: [
			'The last ferry has gone. You are alone on the pier of a tiny island.',
			'A lighthouse blinks on the hill; a café glows by the harbour.',
		],
		prompt: {
			text: 'Where do you go?',
			choices: ['The lighthouse', 'The café'],
			next: (reply) => (/light|hill|tower/i.test(reply) ? 'lighthouse' : 'cafe'),
		},
	},
	lighthouse: {
		lines: [
			'The keeper lets you in. Her radio hisses with messages from passing ships.',
			'"They drop out in the storm," she says, "but the log keeps every one, so nothing is lost."',
		],
		prompt: {
			text: 'Do you read the log or watch the storm?',
			choices: ['Read the log', 'Watch the storm'],
			next: (reply) => (/log|read/i.test(reply) ? 'log' : 'storm'),
		},
	},
	cafe: {
		lines: [
			'The café owner slides you a cocoa. A board on the wall lists every ferry since morning.',
			'"If you missed one, just ask," he says. "I replay the whole day for anyone."',
		],
		prompt: {
			text: 'Do you ask about the ferries or about the lighthouse?',
			choices: ['The ferries', 'The lighthouse'],
			next: (reply) => (/light/i.test(reply) ? 'lighthouse' : 'log'),
		},
	},
	log: {
		lines: [
			'Page after page: every message, numbered, in order. Where the storm cut the line, the numbers resume exactly where they stopped.',
			'You smile. That is how it should work.',
		],
	},
	storm: {
		lines: [
			'Lightning. For a moment the radio goes silent, then every missed message arrives at once, in order.',
			'The keeper nods. "Told you."',
		],
	},
};

interface Reader {
	/** The question awaiting a reply, if any. */
	waitingOn: Scene | null;
	/** Lines still to tell, with their timer. */
	timer: ReturnType<typeof setTimeout> | undefined;
	telling: boolean;
}

/** At most this many stories run at once; the oldest reader is forgotten past it. */
const MAX_READERS = 1000;
const readers = new Map<string, Reader>();

function say(session: string, line: StoryLine): Promise<unknown> {
	// A failed publish (the hub closing) only loses a demo line.
	return hub.publish('story', line, { session }).catch(() => {});
}

function reader(session: string): Reader {
	let current = readers.get(session);
	if (!current) {
		if (readers.size >= MAX_READERS) {
			const [oldest, old] = readers.entries().next().value as [string, Reader];
			clearTimeout(old.timer);
			readers.delete(oldest);
		}
		current = { waitingOn: null, timer: undefined, telling: false };
		readers.set(session, current);
	}
	return current;
}

/** Tells `scene` line by line, then asks its question (or ends the story). */
function tell(session: string, state: Reader, name: string): void {
	const scene = SCENES[name] as Scene;
	state.telling = true;
	state.waitingOn = null;
	const lines: StoryLine[] = scene.lines.map((text) => ({ role: 'narrator', text }));
	if (scene.prompt) {
		lines.push({ role: 'prompt', text: scene.prompt.text, choices: scene.prompt.choices });
	} else {
		const last = lines.at(-1);
		if (last) last.end = true;
	}
	const next = () => {
		const line = lines.shift() as StoryLine;
		void say(session, line);
		if (lines.length > 0) {
			state.timer = setTimeout(next, config.storyLineMs);
			state.timer.unref();
			return;
		}
		// The last line is out: from now on a reply answers its question (or restarts the story).
		state.telling = false;
		state.waitingOn = scene.prompt ? scene : null;
	};
	next();
}

/**
 * Starts the story for a session that has none yet. Idempotent: every page load asks, and a
 * story under way or ended stays as it is (a reply after the end starts it again).
 */
export function startStory(session: string): void {
	if (readers.has(session)) return;
	tell(session, reader(session), 'intro');
}

/** The reader's answer: echoed into the conversation, then the story goes on. */
export async function replyToStory(session: string, text: string): Promise<void> {
	const state = reader(session);
	await say(session, { role: 'reader', text });
	if (state.telling) return; // the story is mid-scene: the reply is noted, the scene goes on
	const prompt = state.waitingOn?.prompt;
	tell(session, state, prompt ? prompt.next(text) : 'intro');
}
