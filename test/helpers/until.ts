/**
 * Waits until `condition` holds, for up to `timeoutMs` (a machine loaded by other suites may be
 * slow to deliver), then `graceMs` more, so that an event that should not come has its chance to
 * show. Resolves either way: the test's own expectations say what went wrong.
 */
export async function until(condition: () => boolean, { timeoutMs = 5000, graceMs = 20 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await pause(10);
  await pause(graceMs);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
