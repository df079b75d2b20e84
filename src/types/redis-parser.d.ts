// redis-parser ships no types; this covers the part slotgate uses.
declare module 'redis-parser' {
  interface ParserOptions {
    returnReply(reply: unknown): void;
    returnError(error: Error): void;
    returnFatalError?(error: Error): void;
    returnBuffers?: boolean;
    stringNumbers?: boolean;
  }
  class Parser {
    constructor(options: ParserOptions);
    execute(buffer: Buffer): void;
    reset(): void;
    setReturnBuffers(returnBuffers: boolean): void;
  }
  export = Parser;
}
