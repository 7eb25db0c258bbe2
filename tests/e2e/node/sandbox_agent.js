'use strict';
// The agent both client scripts route @crystallize/node-klarna's sockets through.
//
// The library sends every request with `https.request({hostname: apiEndpoint, ...})`: no port,
// no scheme, no agent option, so it can only reach https://<apiEndpoint>:443. Everything the
// library writes and reads is left as it is; only where its sockets go is changed: the agent its
// requests use by default, `https.globalAgent`, is replaced by this one, whose connections are
// plain TCP to the sandbox's host and port. `keepAlive` picks the agent's connection reuse: on
// (`https.globalAgent` on Node >= 19) or off (`https.globalAgent` on Node <= 18).

const https = require('https');
const net = require('net');

class SandboxAgent extends https.Agent {
  constructor(target, keepAlive) {
    super({ ...https.globalAgent.options, keepAlive });
    this.target = target;
    this.heads = []; // each request's head as the library put it on the wire
    this.connections = 0;
  }

  createConnection(_options, callback) {
    this.connections += 1;
    const socket = net.connect(Number(this.target.port), this.target.hostname);
    this.recordHeads(socket);
    if (callback) {
      socket.once('connect', () => callback(null, socket));
      socket.once('error', callback);
      return undefined;
    }
    return socket;
  }

  // Keeps the head of every request written on `socket`. A new head starts with the first write
  // after the agent has handed the socket to another request ('free' is emitted when a
  // keep-alive socket returns to the pool).
  recordHeads(socket) {
    const heads = this.heads;
    let pending = '';
    let inHead = true;
    socket.on('free', () => {
      pending = '';
      inHead = true;
    });
    const write = socket.write.bind(socket);
    socket.write = (data, ...rest) => {
      if (inHead) {
        pending += Buffer.isBuffer(data) ? data.toString('latin1') : String(data);
        const end = pending.indexOf('\r\n\r\n');
        if (end >= 0) {
          heads.push(pending.slice(0, end));
          inHead = false;
        }
      }
      return write(data, ...rest);
    };
  }
}

module.exports = { SandboxAgent };
