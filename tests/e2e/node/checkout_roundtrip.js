'use strict';
// Drives @crystallize/node-klarna against a kco-sandbox server: create, read, update, read again.
//
// Usage: node checkout_roundtrip.js INPUT.json
//   INPUT = {"base_url", "username", "password", "keep_alive", "order", "update"}
// The package is found through NODE_PATH (the node_modules folder it was installed into).
// One JSON summary goes to stdout; the library's own warnings go to stderr.
//
// Where the library's sockets go is changed, nothing else: see sandbox_agent.js.

const fs = require('fs');
const https = require('https');
const { SandboxAgent } = require('./sandbox_agent');

function summarise(result) {
  const order = result.response || {};
  const has = name => Object.prototype.hasOwnProperty.call(order, name);
  return {
    statusCode: result.statusCode,
    error: result.error === undefined ? null : JSON.stringify(result.error),
    order_id: has('order_id') ? order.order_id : null,
    status: has('status') ? order.status : null,
    merchant_reference1: has('merchant_reference1') ? order.merchant_reference1 : null,
    order_amount: has('order_amount') ? order.order_amount : null,
    order_tax_amount: has('order_tax_amount') ? order.order_tax_amount : null,
    order_lines: has('order_lines') ? order.order_lines : null,
    html_snippet: has('html_snippet') ? order.html_snippet : null,
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

  const created = await klarna.checkoutV3.createOrder(input.order);
  const orderId = created.response && created.response.order_id;
  const read = await klarna.checkoutV3.retrieveOrder(orderId);
  const updated = await klarna.checkoutV3.updateOrder(orderId, input.update);
  const reread = await klarna.checkoutV3.retrieveOrder(orderId);
  agent.destroy();

  const summary = {
    created: summarise(created),
    read: summarise(read),
    updated: summarise(updated),
    reread: summarise(reread),
    request_heads: agent.heads,
    connections: agent.connections,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch(error => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
