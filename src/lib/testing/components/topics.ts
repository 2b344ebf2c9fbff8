/** The topics the test components share. Test-only: not exported from the library. */
export type ChatTopics = { chat: { text: string } };
