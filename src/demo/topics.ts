/** The demo's topics and the type of each one's data: shared by its server and its pages. */
export type DemoTopics = {
	/** The story chat: session-scoped, one conversation per browser session. */
	story: StoryLine;
	/** A notification every few seconds, to everyone. */
	notifications: { title: string; body: string; level: 'info' | 'success' | 'warning' };
	/** A log line every few seconds, to everyone. */
	logs: { level: 'debug' | 'info' | 'warn' | 'error'; source: string; message: string };
	/** The shared panel: a counter any tab can bump, and who bumped it last. */
	broadcast: { count: number; by: string; online: number };
};

export interface StoryLine {
	/** Who speaks: the narrator, the reader (echo of a reply), or a question awaiting a reply. */
	role: 'narrator' | 'reader' | 'prompt';
	text: string;
	/** For a prompt: the answers offered as buttons (free text is accepted too). */
	choices?: string[];
	/** True on the last line: the story is over (a reply then starts it again). */
	end?: boolean;
}

export const DEMO_TOPICS = ['story', 'notifications', 'logs', 'broadcast'] as const;
