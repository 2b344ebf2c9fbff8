// The topics the test components share (test-only: not exported from the library).
export type ChatTopics = { chat: { text: string } };
