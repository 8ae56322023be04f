// The service worker (served from /sw.js with the asset list filled in): an inspector who
// opened their assignments online can open, fill and finish an inspection offline.
// Pages: network first, the last copy when there is no network. Static files: cached
// under fingerprinted URLs. Photos: kept once seen. Writes are never cached: the
// page's outbox (queue.js) keeps them.
"use strict";

const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
const STATIC = "static-" + VERSION;
const PAGES = "pages";
const PHOTOS = "photos";
const PAGE_TIMEOUT = 6000;
const OFFLINE_PAGES = /^\/inspect\/(\d+(\/review)?)?$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("static-") && name !== STATIC) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "keep") {
    // the assignments page asks to keep its inspections' pages for offline use
    event.waitUntil(caches.open(PAGES).then((cache) => Promise.all(
      event.data.urls.map((url) => fetch(url, { credentials: "same-origin" })
        .then((r) => (r.ok && !r.redirected ? cache.put(url, r) : null)).catch(() => null)),
    )));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    // a signed-out phone keeps no copy of anyone's pages or photos
    event.waitUntil(Promise.all([caches.delete(PAGES), caches.delete(PHOTOS)]));
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (url.pathname.startsWith("/photos/")) {
    event.respondWith(caches.open(PHOTOS).then(async (cache) => {
      const hit = await cache.match(request);
      if (hit) return hit;
      const response = await fetch(request);
      if (response.ok) cache.put(request, response.clone());
      return response;
    }));
    return;
  }
  if (request.mode === "navigate" && OFFLINE_PAGES.test(url.pathname)) {
    event.respondWith(page(request, url));
  }
});

async function page(request, url) {
  const cache = await caches.open(PAGES);
  const key = url.pathname;
  try {
    const response = await timeout(fetch(request), PAGE_TIMEOUT);
    if (response.ok && !response.redirected) cache.put(key, response.clone());
    return response;
  } catch (e) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw e;
  }
}

function timeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((r) => { clearTimeout(timer); resolve(r); }, (e) => { clearTimeout(timer); reject(e); });
  });
}
