/* covax service worker: the centre's pages keep working when the network drops.

   Served by Django at /sw.js (sessions_app/centre/offline.py) with its configuration on
   the first line: self.COVAX_SW = {version, shell}. The version is a hash of the shell
   files, so a new deployment installs a new worker.

   - The app shell (styles, the Devanagari font, htmx, idb, page scripts) is stored at
     install and served from the cache first: a slow network does not slow the page.
     Other static files go to the network as usual.
   - Today's staff pages (/staff/, /sessions/N/, /sessions/N/print/) are fetched from the
     network first and kept as last seen; when the network fails (or is too slow) the
     kept copy is shown. offline.js then lays what this device knows on top of it.
   - Everything else (the API, the sync endpoint, other pages, every POST) is not
     touched: it goes to the network as if there were no worker.
   - Signing out empties the kept pages and the kept session lists (the queue of doses
     not yet sent stays: they were given and must reach the server).
*/
"use strict";

var CONFIG = self.COVAX_SW || { version: "dev", shell: [] };
var SHELL_CACHE = "covax-shell-" + CONFIG.version;
// Pages survive a new deployment: losing the day's list at 11 am because the portal was
// updated would be worse than showing it with the old layout.
var PAGE_CACHE = "covax-pages-v1";
var PAGE_PATHS = [/^\/staff\/$/, /^\/sessions\/\d+\/$/, /^\/sessions\/\d+\/print\/$/];
// On a slow network, show the kept copy after this long (the fresh one still replaces
// it in the cache when it arrives).
var NETWORK_PATIENCE_MS = 8000;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(CONFIG.shell); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("covax-shell-") === 0 && name !== SHELL_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isPage(url) {
  return url.origin === self.location.origin && PAGE_PATHS.some(function (re) { return re.test(url.pathname); });
}

// Only the shell is served from the cache: its version hash covers exactly these files,
// so any other static file (the officers' chart script…) is never served stale.
var SHELL_PATHS = CONFIG.shell.map(function (href) { return new URL(href, self.location.origin).pathname; });

function isShell(url) {
  return url.origin === self.location.origin && SHELL_PATHS.indexOf(url.pathname) !== -1;
}

function keepable(response) {
  // Only a real page: not a redirect to the login page, not an error.
  return response && response.ok && response.type === "basic" && !response.redirected;
}

function pageKey(url) {
  return url.origin + url.pathname;  // ?q= searches are the same page
}

function fromCache(url) {
  return caches.open(PAGE_CACHE).then(function (cache) {
    return cache.match(pageKey(url), { ignoreSearch: true, ignoreVary: true });
  });
}

function networkFirst(event, url) {
  var network = fetch(event.request).then(function (response) {
    if (keepable(response) && !url.search) {
      var copy = response.clone();
      event.waitUntil(caches.open(PAGE_CACHE).then(function (cache) { return cache.put(pageKey(url), copy); }));
    }
    return response;
  });
  event.waitUntil(network.catch(function () {}));
  return fromCache(url).then(function (kept) {
    if (!kept) return network;
    var patience = new Promise(function (resolve) { setTimeout(resolve, NETWORK_PATIENCE_MS, kept); });
    return Promise.race([network.catch(function () { return kept; }), patience]);
  });
}

function cacheFirst(event, url) {
  return caches.open(SHELL_CACHE).then(function (cache) {
    return cache.match(url.pathname, { ignoreSearch: true, ignoreVary: true }).then(function (hit) {
      if (hit) return hit;
      return fetch(event.request).then(function (response) {
        if (keepable(response)) {
          var copy = response.clone();
          event.waitUntil(cache.put(url.pathname, copy));
        }
        return response;
      });
    });
  });
}

function forgetLists() {
  // The session lists offline.js kept in IndexedDB (names, last 4 of IDs): not for the
  // next person who signs in on this device. The queue store is left alone.
  return new Promise(function (resolve) {
    var open = indexedDB.open("covax-offline");
    open.onerror = function () { resolve(); };
    open.onupgradeneeded = function () { open.transaction.abort(); resolve(); };  // never created: nothing to forget
    open.onsuccess = function () {
      var db = open.result;
      if (!db.objectStoreNames.contains("lists")) { db.close(); return resolve(); }
      var tx = db.transaction("lists", "readwrite");
      tx.objectStore("lists").clear();
      tx.oncomplete = tx.onerror = tx.onabort = function () { db.close(); resolve(); };
    };
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method === "POST" && url.origin === self.location.origin && url.pathname === "/logout/") {
    event.waitUntil(Promise.all([caches.delete(PAGE_CACHE), forgetLists()]));
    return;  // the sign-out itself goes to the network untouched
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && isPage(url)) {
    event.respondWith(networkFirst(event, url));
  } else if (isShell(url)) {
    event.respondWith(cacheFirst(event, url));
  }
});

// A page that was opened before this worker controlled it (the first visit) asks for
// itself and the pages it links to (today's sessions, the printable list) to be kept.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep-pages" || !Array.isArray(data.urls)) return;
  event.waitUntil(caches.open(PAGE_CACHE).then(function (cache) {
    return Promise.all(data.urls.slice(0, 20).map(function (href) {
      var url = new URL(href, self.location.origin);
      if (!isPage(url)) return null;
      var refresh = Array.isArray(data.refresh) && data.refresh.indexOf(href) !== -1;
      return cache.match(pageKey(url), { ignoreVary: true }).then(function (kept) {
        if (kept && !refresh) return null;
        return fetch(pageKey(url), { credentials: "same-origin" }).then(function (response) {
          if (keepable(response)) return cache.put(pageKey(url), response);
          return null;
        }).catch(function () { return null; });
      });
    }));
  }));
});
