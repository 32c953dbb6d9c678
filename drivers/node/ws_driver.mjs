// The pytest-wsmock driver for Node's `ws` client (npm ws@8): docs/drivers.md.
//
// Reads one JSON operation per line on stdin, answers each with one JSON line on stdout;
// diagnostics go to stderr. One connection at a time; a connection failure is reported,
// never fatal. Run `npm install` in this directory first (.ci/install-node does).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

let conn = null; // { ws, messages: [], error, close, opened, wake }

function errorOf(err) {
  if (err == null) return null;
  return { type: String(err.code || err.constructor?.name || 'Error'), message: String(err.message ?? err) };
}

function reply(answer) {
  process.stdout.write(JSON.stringify(answer) + '\n');
}

function ended(c) {
  return { ok: false, error: errorOf(c.error), close: c.close };
}

// Resolves when `c` changes (a message, an error, open or close) or after `ms`.
function waitForChange(c, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { c.wake = null; resolve(false); }, ms);
    c.wake = () => { clearTimeout(timer); c.wake = null; resolve(true); };
  });
}

function poke(c) {
  if (c.wake) c.wake();
}

function drop() {
  if (conn && !conn.close) conn.ws.terminate();
  conn = null;
}

async function connect(op) {
  drop();
  const timeoutMs = Math.max(1, (op.timeout ?? 5) * 1000);
  const options = { handshakeTimeout: timeoutMs };
  if (op.ca) options.ca = readFileSync(op.ca);
  const c = { messages: [], error: null, close: null, opened: false, wake: null };
  try {
    const protocols = op.subprotocols && op.subprotocols.length ? op.subprotocols : undefined;
    c.ws = new WebSocket(op.url, protocols, options);
  } catch (err) {
    return { ok: false, error: errorOf(err), close: null };
  }
  conn = c;
  c.ws.binaryType = 'nodebuffer';
  c.ws.addEventListener('open', () => { c.opened = true; poke(c); });
  c.ws.addEventListener('message', (event) => { c.messages.push(event.data); poke(c); });
  c.ws.addEventListener('error', (event) => {
    if (!c.error) c.error = event.error ?? new Error(event.message);
    process.stderr.write(`ws error: ${event.message}\n`);
    poke(c);
  });
  c.ws.addEventListener('close', (event) => {
    c.close = { code: event.code, reason: event.reason, clean: event.wasClean };
    poke(c);
  });
  // ws emits `close` after every failure (after `error`): wait for open or close. The
  // handshake timeout bounds it; the extra second is a safety net that never exits.
  const deadline = Date.now() + timeoutMs + 1000;
  while (!c.opened && !c.close && Date.now() < deadline) {
    await waitForChange(c, deadline - Date.now());
  }
  if (c.opened) return { ok: true, subprotocol: c.ws.protocol || null };
  if (!c.close) {
    c.ws.terminate();
    return { ok: false, error: c.error ? errorOf(c.error) : { type: 'timeout', message: `no open or close within ${timeoutMs + 1000} ms` }, close: c.close };
  }
  return ended(c);
}

async function send(op) {
  const c = conn;
  if (!c) return { ok: false, error: { type: 'no-connection', message: 'connect first' }, close: null };
  if (c.close) return ended(c);
  const data = op.binary !== undefined ? Buffer.from(op.binary, 'base64') : op.text;
  const timeoutMs = Math.max(1, (op.timeout ?? 5) * 1000);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, error: { type: 'timeout', message: `send not done within ${timeoutMs} ms` }, close: c.close }), timeoutMs);
    try {
      c.ws.send(data, (err) => {
        clearTimeout(timer);
        resolve(err ? { ok: false, error: errorOf(err), close: c.close } : { ok: true });
      });
    } catch (err) {
      clearTimeout(timer);
      resolve({ ok: false, error: errorOf(err), close: c.close });
    }
  });
}

function take(c) {
  const data = c.messages.shift();
  return typeof data === 'string' ? { ok: true, text: data } : { ok: true, binary: Buffer.from(data).toString('base64') };
}

async function receive(op) {
  const c = conn;
  if (!c) return { ok: false, error: { type: 'no-connection', message: 'connect first' }, close: null };
  const deadline = Date.now() + Math.max(0, (op.timeout ?? 5) * 1000);
  for (;;) {
    if (c.messages.length) return take(c);
    if (c.close) return ended(c);
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, timeout: true };
    await waitForChange(c, left);
  }
}

async function close(op) {
  const c = conn;
  if (!c) return { ok: true, close: null };
  if (!c.close) {
    try {
      c.ws.close(op.code ?? 1000, op.reason ?? '');
    } catch (err) {
      process.stderr.write(`close: ${err.message}\n`);
      c.ws.terminate();
    }
    const deadline = Date.now() + Math.max(1, (op.timeout ?? 5) * 1000);
    while (!c.close && Date.now() < deadline) await waitForChange(c, deadline - Date.now());
    if (!c.close) {
      process.stderr.write('close: no close within the timeout, terminating\n');
      c.ws.terminate();
      while (!c.close) await waitForChange(c, 1000);
    }
  }
  conn = null;
  return { ok: true, close: c.close };
}

const ops = { connect, send, receive, close };

process.on('uncaughtException', (err) => process.stderr.write(`uncaught: ${err.stack}\n`));

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let op;
  try {
    op = JSON.parse(line);
  } catch (err) {
    reply({ ok: false, error: { type: 'bad-request', message: err.message }, close: null });
    continue;
  }
  if (op.op === 'quit') {
    drop();
    reply({ ok: true });
    break;
  }
  const handler = ops[op.op];
  if (!handler) {
    reply({ ok: false, error: { type: 'bad-request', message: `unknown op ${op.op}` }, close: null });
    continue;
  }
  try {
    reply(await handler(op));
  } catch (err) {
    reply({ ok: false, error: errorOf(err), close: conn ? conn.close : null });
  }
}
drop();
process.exit(0);
