/**
 * Who waits for a backend reply. Backend connections call exactly one of these per request sent,
 * in the order the requests were sent.
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
