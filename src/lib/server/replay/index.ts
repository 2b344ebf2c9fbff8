// The replay layer: what a client missed (topic safety, the plan, the pages) and writing it at the client's pace.
export { createEmitWithHistory, type ReplayInput, replayMissedMessages } from './missed.js';
export {
	type Gap,
	type GapReason,
	type NewTopicHistory,
	type PlanReplayInput,
	planReplay,
	type ReplayPlan,
	type SSEGap,
	type SSEGapReason,
} from './plan.js';
export { analyzeTopicSafety, setTopicSubscription, type TopicSafety } from './topic-safety.js';
export { type ReplayOutcome, type ReplayTarget, ReplayWriter } from './writer.js';
