// The GraphQL-over-HTTP working group's own audit of a server (graphql-http's
// serverAudits), against the real binary: every audit must be `ok`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { serverAudits } from "graphql-http";
import { startServer } from "./server.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test("graphql-http serverAudits: every audit is ok", async (t) => {
  const audits = serverAudits({ url: `${server.base}/graphql`, fetchFn: fetch });
  assert.ok(audits.length >= 61, `only ${audits.length} audits`);
  const failed = [];
  for (const audit of audits) {
    const result = await audit.fn();
    // Each audit's name and status in the output, passed or not.
    t.diagnostic(`${result.status.toUpperCase()} ${audit.name}`);
    if (result.status !== "ok") failed.push(`${result.status}: ${audit.name}: ${result.reason}`);
  }
  assert.deepEqual(failed, [], `${failed.length} of ${audits.length} audits not ok`);
});
