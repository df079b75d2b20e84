/**
 * Who waits for a backend reply. Backend connections call exactly one of these per reply expected
 * (one per request, or one per command of a transaction frame), in the order they were sent.
 */
export interface ReplyTarget {
  /** The complete reply, bytes as Redis sent them. `from` is the node address that answered. */
  onReply(reply: Buffer, from: string): void;
  /**
   * No reply will come. `written` is false when the request never left slotgate (so it is safe to
   * send again anywhere), true when the node may have executed it.
   */
  onFailure(message: string, written: boolean): void;
}

/** Swallows the reply of a command slotgate sends for itself, such as the ASKING before an ASK retry. */
export const ignoreReply: ReplyTarget = {
  onReply() {},
  onFailure() {},
};
