// Opens the Jellyfin WebSocket the way @jellyfin/sdk does (`<base>/socket?ApiKey=<token>`),
// waits for the server's ForceKeepAlive, sends a KeepAlive and waits for the answer.
//
//   node socket.mjs <baseUrl> <token>
//
// Prints one JSON line on stdout:
//   {"ok":true,"forceKeepAlive":60,"keepAlive":true}
// or, when the upgrade is refused with an HTTP status:
//   {"ok":false,"status":<code>}
// and exits 0 in both cases. Any other failure (connection refused, protocol
// error, no ForceKeepAlive or KeepAlive within the time limit) exits 1 with the
// reason on stderr.

import WebSocket from 'ws';

const [baseUrl, token] = process.argv.slice(2);
if (!baseUrl || token === undefined) {
    process.stderr.write('usage: node socket.mjs <baseUrl> <token>\n');
    process.exit(2);
}

const TIME_LIMIT_MS = 15000;

function socketUrl(base, apiKey) {
    const url = new URL(base);
    if (url.protocol === 'http:') {
        url.protocol = 'ws:';
    } else if (url.protocol === 'https:') {
        url.protocol = 'wss:';
    } else {
        throw new Error(`unsupported base URL scheme ${url.protocol}`);
    }
    url.pathname = url.pathname.replace(/\/+$/, '') + '/socket';
    url.search = '';
    url.searchParams.set('ApiKey', apiKey);
    return url.toString();
}

function run() {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(socketUrl(baseUrl, token), { handshakeTimeout: TIME_LIMIT_MS });
        let forceKeepAlive = null;
        let settled = false;

        const finish = (fn, value) => {
            if (settled) {
                return;
            }
            settled = true;
            clearTimeout(timer);
            try {
                ws.terminate();
            } catch {
                // already closed
            }
            fn(value);
        };

        const timer = setTimeout(() => {
            const waitingFor = forceKeepAlive === null ? 'ForceKeepAlive' : 'KeepAlive answer';
            finish(reject, new Error(`no ${waitingFor} within ${TIME_LIMIT_MS} ms`));
        }, TIME_LIMIT_MS);

        ws.on('unexpected-response', (_req, res) => {
            finish(resolve, { ok: false, status: res.statusCode });
        });
        ws.on('error', err => finish(reject, err));
        ws.on('close', (code, reason) => {
            finish(reject, new Error(`socket closed early: ${code} ${reason}`));
        });
        ws.on('message', (data, isBinary) => {
            if (isBinary) {
                finish(reject, new Error('unexpected binary frame'));
                return;
            }
            let msg;
            try {
                msg = JSON.parse(data.toString('utf8'));
            } catch (err) {
                finish(reject, new Error(`frame is not JSON: ${data}`));
                return;
            }
            if (msg.MessageType === 'ForceKeepAlive' && forceKeepAlive === null) {
                forceKeepAlive = msg.Data;
                ws.send(JSON.stringify({ MessageType: 'KeepAlive' }));
                return;
            }
            if (msg.MessageType === 'KeepAlive' && forceKeepAlive !== null) {
                finish(resolve, { ok: true, forceKeepAlive, keepAlive: true });
            }
            // Other pushes (Sessions, UserDataChanged, …) are ignored.
        });
    });
}

try {
    const result = await run();
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
} catch (err) {
    process.stderr.write(`socket.mjs: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
}
