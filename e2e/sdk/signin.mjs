// Signs in with @jellyfin/sdk exactly as an API client does, then lists the
// user's items and views with the token it was given.
//
//   node signin.mjs <baseUrl> <username> <password> [deviceId]
//
// Prints one JSON line on stdout:
//   {"ok":true,"status":200,"token":"…","userId":"…","items":N,"views":M,"itemNames":[…]}
// or, when the server answers with an HTTP error (at any step):
//   {"ok":false,"status":<code>,"step":"signin"|"items"|"views"}
// and exits 0 in both cases. Any other failure (connection refused, timeout,
// malformed answer) exits 1 with the reason on stderr.

import { randomUUID } from 'node:crypto';
import axios from 'axios';
import { Jellyfin } from '@jellyfin/sdk';
import { getUserApi } from '@jellyfin/sdk/lib/utils/api/user-api.js';
import { getItemsApi } from '@jellyfin/sdk/lib/utils/api/items-api.js';
import { getUserViewsApi } from '@jellyfin/sdk/lib/utils/api/user-views-api.js';

const [baseUrl, username, password, deviceIdArg] = process.argv.slice(2);
if (!baseUrl || username === undefined || password === undefined) {
    process.stderr.write('usage: node signin.mjs <baseUrl> <username> <password> [deviceId]\n');
    process.exit(2);
}

class HTTPFailure extends Error {
    constructor(step, status) {
        super(`${step}: HTTP ${status}`);
        this.step = step;
        this.status = status;
    }
}

// One bounded axios instance; proxies from the environment are ignored so
// that requests go straight to the loopback servers under test.
const http = axios.create({ timeout: 20000, proxy: false });

const jellyfin = new Jellyfin({
    clientInfo: { name: 'jellyguard-e2e', version: '1.0.0' },
    deviceInfo: { name: 'e2e', id: deviceIdArg || randomUUID() }
});
const api = jellyfin.createApi(baseUrl, undefined, http);

async function step(name, call) {
    try {
        return await call();
    } catch (err) {
        if (err && err.response && typeof err.response.status === 'number') {
            throw new HTTPFailure(name, err.response.status);
        }
        throw err;
    }
}

async function main() {
    const auth = await step('signin', () => getUserApi(api).authenticateUserByName({
        authenticateUserByName: { Username: username, Pw: password }
    }));
    const token = auth.data && auth.data.AccessToken;
    const userId = auth.data && auth.data.User && auth.data.User.Id;
    if (typeof token !== 'string' || token === '') {
        throw new Error(`sign-in answered ${auth.status} without an AccessToken`);
    }
    if (typeof userId !== 'string' || userId === '') {
        throw new Error(`sign-in answered ${auth.status} without User.Id`);
    }
    if (api.accessToken !== token) {
        throw new Error('the SDK did not keep the AccessToken for later calls');
    }

    const items = await step('items', () => getItemsApi(api).getItems({ userId, recursive: true }));
    const views = await step('views', () => getUserViewsApi(api).getUserViews({ userId }));
    const itemList = (items.data && Array.isArray(items.data.Items)) ? items.data.Items : null;
    const viewList = (views.data && Array.isArray(views.data.Items)) ? views.data.Items : null;
    if (itemList === null) {
        throw new Error(`GET /Items answered ${items.status} without an Items array`);
    }
    if (viewList === null) {
        throw new Error(`GET /UserViews answered ${views.status} without an Items array`);
    }

    return {
        ok: true,
        status: auth.status,
        token,
        userId,
        items: itemList.length,
        views: viewList.length,
        itemNames: itemList.map(item => item.Name)
    };
}

try {
    const result = await main();
    process.stdout.write(JSON.stringify(result) + '\n');
} catch (err) {
    if (err instanceof HTTPFailure) {
        process.stdout.write(JSON.stringify({ ok: false, status: err.status, step: err.step }) + '\n');
    } else {
        process.stderr.write(`signin.mjs: ${err && err.stack ? err.stack : err}\n`);
        process.exit(1);
    }
}
