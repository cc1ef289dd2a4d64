// A TCP echo server and client run inside network namespaces (`ip netns exec`) by the namespaces
// test: real sockets through bmv2's veth ports, not crafted frames.
//
//   node tcp-echo.js serve HOST PORT[,PORT...]     echoes on each port until killed
//   node tcp-echo.js send HOST PORT BYTES WAIT_MS  prints one JSON line: {connected, echoed}

import { createConnection, createServer } from 'node:net';

function serve(host: string, ports: string): void {
  for (const port of ports.split(',')) {
    createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    }).listen(Number(port), host, () => console.log(`listening ${host}:${port}`));
  }
}

function send(host: string, port: string, bytes: string, waitMs: string): void {
  const data = Buffer.alloc(Number(bytes), 0x5a);
  let connected = false;
  let echoed = 0;
  const done = () => {
    console.log(JSON.stringify({ connected, echoed }));
    process.exit(0);
  };
  const socket = createConnection({ host, port: Number(port) }, () => {
    connected = true;
    socket.end(data);
  });
  socket.on('data', (chunk: Buffer) => (echoed += chunk.length));
  socket.on('end', done);
  socket.on('error', done);
  // Without an answer the attempt is abandoned: a dropped SYN is never refused, only unanswered.
  setTimeout(done, Number(waitMs));
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'serve' && args.length === 2) serve(args[0], args[1]);
else if (mode === 'send' && args.length === 4) send(args[0], args[1], args[2], args[3]);
else {
  console.error('usage: tcp-echo serve HOST PORTS | send HOST PORT BYTES WAIT_MS');
  process.exit(2);
}
