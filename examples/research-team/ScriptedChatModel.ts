/**
 * A chat model for running agents offline: a script decides each reply from the conversation so
 * far (so any replica, in any process, answers a conversation the same way), and replies stream
 * word by word, tool calls included, as a real provider's would — `streamMode: "messages"` shows
 * the tokens.
 *
 * @module
 */
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";

/** One reply of the script: its text and the tools it calls. */
export interface ScriptedReply {
  content: string;
  toolCalls?: { id: string; name: string; args: Record<string, unknown> }[];
}

/** Options of {@link ScriptedChatModel}. */
export interface ScriptedChatModelOptions extends BaseChatModelParams {
  /** Decides the next reply from the conversation (the messages the model is called with). */
  script: (messages: BaseMessage[]) => ScriptedReply;
}

/** A deterministic, streaming, tool-calling chat model driven by a script. */
export class ScriptedChatModel extends BaseChatModel {
  private readonly script: (messages: BaseMessage[]) => ScriptedReply;

  constructor(options: ScriptedChatModelOptions) {
    super(options);
    if (typeof options.script !== "function") throw new RangeError("script must be a function (got " + typeof options.script + ")");
    this.script = options.script;
  }

  _llmType(): string {
    return "scripted";
  }

  /** The script decides which tools to call, so binding tools changes nothing. */
  override bindTools(): this {
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    await Promise.resolve();
    const reply = this.script(messages);
    const message = new AIMessage({
      content: reply.content,
      tool_calls: (reply.toolCalls ?? []).map((c) => ({ ...c, type: "tool_call" as const })),
    });
    return { generations: [{ message, text: reply.content }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    _options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const reply = this.script(messages);
    const words = reply.content.split(/(?<= )/);
    const calls = reply.toolCalls ?? [];
    for (const [i, word] of words.entries()) {
      const last = i === words.length - 1;
      const chunk = new ChatGenerationChunk({
        text: word,
        message: new AIMessageChunk({
          content: word,
          ...(last && calls.length > 0
            ? {
                tool_call_chunks: calls.map((c, index) => ({
                  id: c.id,
                  name: c.name,
                  args: JSON.stringify(c.args),
                  index,
                  type: "tool_call_chunk" as const,
                })),
              }
            : {}),
        }),
      });
      yield chunk;
      await runManager?.handleLLMNewToken(word, undefined, undefined, undefined, undefined, { chunk });
    }
  }
}
