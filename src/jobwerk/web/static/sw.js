// jobwerk service worker: the app shell works offline; API data is never served from a cache.

const CACHE = "jobwerk-shell-v3";
const SHELL_PAGE = "/static/index.html";
const SHELL = [
  SHELL_PAGE,
  "/static/app.css",
  "/static/js/app.js",
  "/static/js/api.js",
  "/static/js/dom.js",
  "/static/js/fields.js",
  "/static/js/live.js",
  "/static/js/runstream.js",
  "/static/js/schema-form.js",
  "/static/js/store.js",
  "/static/js/toast.js",
  "/static/js/views/docs-credentials.js",
  "/static/js/views/docs.js",
  "/static/js/views/jobs.js",
  "/static/js/views/login.js",
  "/static/js/views/modules.js",
  "/static/js/views/overview.js",
  "/static/js/views/run.js",
  "/static/js/views/runs.js",
  "/static/js/views/trigger.js",
  "/static/icons/icon.svg",
  "/static/icons/icon-192.png",
  "/manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

const DASHBOARD_PAGES = new Set(["/", "/temu"]);

function isShell(request, url) {
  // Only the dashboard's pages and static files: API answers (also /modules, /repository),
  // API docs, WebSockets, health checks and downloads always go to the network.
  if (request.mode === "navigate") return DASHBOARD_PAGES.has(url.pathname);
  return url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest";
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !isShell(request, url)) return; // network only
  // Shell: network first so an update shows at once; the cache answers only when offline.
  event.respondWith(
    fetch(request)
      .then((response) => {
        const html = (response.headers.get("content-type") || "").includes("text/html");
        if (response.ok && response.type === "basic" && (request.mode !== "navigate" || html)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request.mode === "navigate" ? SHELL_PAGE : request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request.mode === "navigate" ? SHELL_PAGE : request).then((cached) => cached || Response.error())),
  );
});
