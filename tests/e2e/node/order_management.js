'use strict';
// Drives the Order Management methods of @crystallize/node-klarna against a kco-sandbox server.
//
// Usage: node order_management.js INPUT.json
//   INPUT = {"base_url", "username", "password", "keep_alive",
//            "first", "second",            // ids of two completed (AUTHORIZED) orders
//            "references", "capture", "refund"}   // the bodies sent to the library's methods
// The package is found through NODE_PATH (the node_modules folder it was installed into).
// One JSON summary goes to stdout; the library's own warnings go to stderr.
//
// On `first`: get, acknowledge, update merchant references, capture part, release the remaining
// authorization, refund part. On `second`: get, cancel. After every change the order is read
// again with the library's `getOrder`, and each step's answer and that read go into the summary.
//
// Where the library's sockets go is changed, nothing else: see sandbox_agent.js.

const fs = require('fs');
const https = require('https');
const { SandboxAgent } = require('./sandbox_agent');

// One library call's result: {statusCode, error, response} with `error` as JSON text or null.
function answer(result) {
  return {
    statusCode: result.statusCode,
    error: result.error === undefined ? null : JSON.stringify(result.error),
    response: result.response === undefined ? null : result.response,
  };
}

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const target = new URL(input.base_url);
  const agent = new SandboxAgent(target, Boolean(input.keep_alive));
  https.globalAgent = agent;

  const { Klarna } = require('@crystallize/node-klarna');
  const klarna = new Klarna({
    username: input.username,
    password: input.password,
    apiEndpoint: target.hostname,
  });
  const om = klarna.orderManagementV1;

  const steps = [];
  // Runs one change, then reads the order back; both go into `steps`.
  async function step(name, orderId, change) {
    const changed = answer(await change());
    const read = answer(await om.orders.getOrder(orderId));
    steps.push({ step: name, order_id: orderId, ...changed, order: read });
  }

  const first = input.first;
  steps.push({ step: 'get', order_id: first, ...answer(await om.orders.getOrder(first)) });
  await step('acknowledge', first, () => om.orders.acknowledge(first));
  await step('update_references', first, () =>
    om.orders.updateMerchantReference(first, input.references)
  );
  await step('capture', first, () => om.captures.capture(first, input.capture));
  await step('release', first, () => om.orders.releaseRemainingAuthorization(first));
  await step('refund', first, () => om.refunds.create(first, input.refund));

  const second = input.second;
  steps.push({ step: 'get', order_id: second, ...answer(await om.orders.getOrder(second)) });
  await step('cancel', second, () => om.orders.cancel(second));
  agent.destroy();

  const summary = {
    steps,
    request_heads: agent.heads,
    connections: agent.connections,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch(error => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
