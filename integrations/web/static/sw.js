// The chat page's service worker: keeps the page, its script, style, manifest and icons, so the page
// opens without a network (and says so: the page shows its offline banner). The page itself comes from
// the network when there is one (a new version at once), from the cache when there is not. The API is
// never cached: messages wait in the page's outbox instead.
var CACHE = "trolyso-page-v1";
var PAGE = ["/", "/static/chat.js", "/static/chat.css", "/manifest.webmanifest", "/static/icon-192.png",
            "/static/icon-512.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(PAGE); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  var path = url.pathname;  // only our own files: the team desk under /staff/ is never kept
  if (PAGE.indexOf(path) < 0) return;
  event.respondWith(fetch(event.request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(path, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(path).then(function (hit) { return hit || Response.error(); });
  }));
});
