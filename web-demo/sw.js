// sw.js — the Client Portal's service worker: keeps the app shell and the wasm package in a cache
// so portal.html reloads while offline (without it a navigation fails offline).
//
// Network first, cache as the fallback: online, the page always gets the files returnsd serves
// now (and the cache is refreshed); offline, the last copy. The sync socket and every /v1/ route
// are never cached or touched. Bump VERSION when the list changes.
const VERSION = 1;
const CACHE = `lead-returns-portal-v${VERSION}`;
const SHELL = [
  '/portal.html', '/portal.js', '/portal.css',
  '/pkg/index.mjs', '/pkg/persistence.mjs', '/pkg/transport.mjs', '/pkg/leader.mjs',
  '/pkg/returns_core.mjs', '/pkg/returns_core.wasm',
];
const CACHED = new Set(SHELL);
// Where each file last came from ('network' | 'cache'): the page shows whether it runs from the
// offline copy (and the browser test checks that the offline reload really used it).
const served = new Map();

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('lead-returns-portal-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

function cacheKey(url) {
  if (url.origin !== self.location.origin) return null;
  if (url.pathname.startsWith('/v1/')) return null;          // API and sync: never cached
  return CACHED.has(url.pathname) ? url.pathname : null;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const key = cacheKey(new URL(req.url));
  if (!key) return;  // everything else goes to the network as if there were no worker
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);  // returnsd answers Cache-Control: no-cache: revalidated
      if (res.ok) await cache.put(key, res.clone());
      served.set(key, 'network');
      return res;
    } catch (err) {
      const hit = await cache.match(key);
      if (hit) {
        served.set(key, 'cache');
        return hit;
      }
      throw err;
    }
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type !== 'portal-sw-status') return;
  event.ports[0]?.postMessage({ version: VERSION, cache: CACHE, served: Object.fromEntries(served) });
});
