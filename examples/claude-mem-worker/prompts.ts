/**
 * The observer's prompts, shaped like the worker's (our own wording). The init and continuation
 * prompts carry the observer's identity, rules and XML output schema; without one of them in
 * its context the model answers in prose that the observation parser rejects.
 */
import type { ConversationMessage, ObservationData } from './types.js'

/** How every init and continuation prompt starts: what the local model looks for to see the schema. */
export const INSTRUCTIONS_TAG = '<observer_instructions'

const OUTPUT_SCHEMA = `Answer ONLY with XML, one element per thing worth remembering:
<observation>
  <type>one of: decision | bugfix | feature | refactor | discovery | change</type>
  <title>a short title</title>
  <subtitle>one sentence of context</subtitle>
  <facts><fact>a concise, self-contained statement</fact></facts>
  <narrative>what happened and why it matters</narrative>
  <concepts><concept>a category</concept></concepts>
  <files_read><file>a path</file></files_read>
  <files_modified><file>a path</file></files_modified>
</observation>
When asked for a summary, answer with one <summary> element holding <request>, <investigated>,
<learned>, <completed> and <next_steps>. Never answer in prose. Never ask questions.`

const IDENTITY = `You are a memory observer. You watch another agent work in a coding session
and record what is worth remembering for future sessions: decisions, fixes, discoveries. You do
not do the work yourself and you never call tools. Skip routine reads and trivial edits.`

/** The first prompt of a session's observer: identity, rules, schema and the user's request. */
export function buildInitPrompt(project: string, contentSessionId: string, userPrompt: string): string {
  return `${INSTRUCTIONS_TAG} kind="init" project="${project}" session="${contentSessionId}">
${IDENTITY}

${OUTPUT_SCHEMA}
</observer_instructions>
<user_request prompt_number="1">${userPrompt}</user_request>`
}

/** The prompt for a later user prompt of the same session: it repeats the schema. */
export function buildContinuationPrompt(userPrompt: string, promptNumber: number, contentSessionId: string): string {
  return `${INSTRUCTIONS_TAG} kind="continuation" session="${contentSessionId}">
The user sent a new request in the session you are observing. Keep observing.

${OUTPUT_SCHEMA}
</observer_instructions>
<user_request prompt_number="${promptNumber}">${userPrompt}</user_request>`
}

/** One tool use of the primary session. Tool inputs and outputs are serialised as the worker does. */
export function buildObservationPrompt(data: ObservationData, createdAt: number): string {
  return `<observed_from_primary_session>
<what_happened>${data.tool_name}</what_happened>
<occurred_at>${new Date(createdAt).toISOString()}</occurred_at>
<working_directory>${data.cwd ?? ''}</working_directory>
<parameters>${JSON.stringify(data.tool_input)}</parameters>
<outcome>${JSON.stringify(data.tool_response)}</outcome>
</observed_from_primary_session>`
}

/** Asks for the session summary at the end of a burst of work. */
export function buildSummaryPrompt(userPrompt: string, lastAssistantMessage: string): string {
  return `<summary_request>
The primary session finished answering: ${JSON.stringify(lastAssistantMessage)}
Its request was: ${JSON.stringify(userPrompt)}
Write the <summary> element now, following the schema you were given.
</summary_request>`
}

/**
 * The framing prompt a generator run starts with: the init prompt on the first user prompt,
 * a continuation prompt on later ones. Marked `framing: true`, as the worker marks it.
 */
export function framingPrompt(session: {
  project: string
  contentSessionId: string
  userPrompt: string
  lastPromptNumber: number
}): ConversationMessage {
  const content =
    session.lastPromptNumber <= 1
      ? buildInitPrompt(session.project, session.contentSessionId, session.userPrompt)
      : buildContinuationPrompt(session.userPrompt, session.lastPromptNumber, session.contentSessionId)
  return { role: 'user', content, framing: true }
}

/** Whether a message is the framing (init or continuation) prompt: the message the history keeps. */
export function isFramingPrompt(message: ConversationMessage): boolean {
  return message.framing === true
}

/** Whether a message starts a turn: the observer's conversation alternates user → assistant. */
export function isUserTurn(message: ConversationMessage): boolean {
  return message.role === 'user'
}

/** What the worker's parser keeps of a reply: its `<observation>` and `<summary>` elements. */
export function parseObservations(reply: string): { observations: number; summaries: number } {
  const observations = reply.split('<observation>').length - 1
  const summaries = reply.split('<summary>').length - 1
  return { observations, summaries }
}
