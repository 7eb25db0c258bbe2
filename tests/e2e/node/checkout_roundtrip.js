'use strict';
// Drives @crystallize/node-klarna against a kco-sandbox server: create, read, update, read.
//
// Usage: node checkout_roundtrip.js INPUT.json
//   INPUT = {"base_url", "username", "password", "order", "update"}
// The package is resolved through NODE_PATH (the folder it was installed into).
// Prints one JSON summary on stdout; the library's own warnings go to stderr.
//
// The library always calls `https.request` with `hostname: apiEndpoint` and no port, so it can
// only reach https://<apiEndpoint>:443. The test keeps every byte the library writes and reads
// as it is and only changes where the socket goes: `https.globalAgent` (the agent the library's
// requests use) is swapped for one whose connections are plain TCP to the sandbox's port.

const fs = require('fs');
const https = require('https');
const net = require('net');

class SandboxAgent extends https.Agent {
  constructor(target) {
    super({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
    this.target = target;
    this.requests = []; // the raw request heads, as the library's requests put them on the wire
  }

  createConnection(_options, callback) {
    const socket = net.connect(Number(this.target.port), this.target.hostname);
    const heads = this.requests;
    let buffered = '';
    let recorded = false;
    const write = socket.write.bind(socket);
    socket.write = (data, ...rest) => {
      if (!recorded) {
        buffered += Buffer.isBuffer(data) ? data.toString('latin1') : String(data);
        const end = buffered.indexOf('\r\n\r\n');
        if (end >= 0) {
          heads.push(buffered.slice(0, end));
          recorded = true;
        }
      }
      return write(data, ...rest);
    };
    if (callback) {
      socket.once('connect', () => callback(null, socket));
      socket.once('error', callback);
      return undefined;
    }
    return socket;
  }
}

function pick(result) {
  const order = result.response || {};
  return {
    statusCode: result.statusCode,
    error: result.error === undefined ? null : String(JSON.stringify(result.error)),
    order_id: order.order_id || null,
    status: order.status || null,
    merchant_reference1: order.merchant_reference1 || null,
    order_amount: order.order_amount === undefined ? null : order.order_amount,
    order_tax_amount: order.order_tax_amount === undefined ? null : order.order_tax_amount,
    order_lines: order.order_lines || null,
    html_snippet: order.html_snippet || null,
    last_modified_at: order.last_modified_at || null,
  };
}

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const target = new URL(input.base_url);
  const agent = new SandboxAgent(target);
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

  const summary = {
    created: pick(created),
    read: pick(read),
    updated: pick(updated),
    reread: pick(reread),
    request_heads: agent.requests,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch(error => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
