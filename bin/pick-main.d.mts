// Types of pick-main.mjs, for the TypeScript that imports it (its unit test).
export declare function newestFileMtimeMs(dir: string): number;
export declare function pickMain(root: string): { main: string; stale: boolean };
