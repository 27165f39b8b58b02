// Service worker for downloads that stream to disk where the browser has no save-file picker
// (showSaveFilePicker: Firefox, Safari). It is registered for the scope ./dl/ only and does one
// thing: when the page opens a download it hands over a MessagePort, and the next navigation to
// ./dl/<id>/<name> is answered with a stream fed through that port, as an attachment — the browser
// writes it to its downloads folder as it arrives, and the plaintext never sits whole in memory.
// The page sends each chunk only after it was decrypted and checked, and closes the stream only
// after the whole file's checks passed (PROTOCOL.md §8.4); on any failure it errors the stream,
// which the browser reports as a failed download and never completes. Nothing is fetched here.
"use strict";

const opened = new Map(); // id -> {stream, name, size}
const ID = /\/dl\/([0-9a-f]{32})\/[^/]*$/;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const data = event.data ?? {};
  if (data.type !== "open" || typeof data.id !== "string" || event.ports.length !== 1) {
    return; // "ping" messages only keep this worker alive during a long download
  }
  const port = event.ports[0];
  const stream = new ReadableStream(
    {
      start(controller) {
        port.onmessage = ({ data: m }) => {
          if (m.chunk instanceof ArrayBuffer) {
            controller.enqueue(new Uint8Array(m.chunk));
          } else if (m.close) {
            controller.close();
          } else if (m.error) {
            controller.error(new Error("the file failed its checks"));
          }
        };
      },
      pull() {
        port.postMessage({ pull: true });
      },
      cancel() {
        port.postMessage({ cancelled: true }); // the member cancelled the download in the browser
      },
    },
    { highWaterMark: 1 },
  );
  opened.set(data.id, { stream, port, name: String(data.name), size: Number(data.size) });
  port.postMessage({ ready: true });
});

self.addEventListener("fetch", (event) => {
  const found = ID.exec(new URL(event.request.url).pathname);
  if (found === null) {
    return;
  }
  const entry = opened.get(found[1]);
  opened.delete(found[1]); // one use
  if (entry === undefined) {
    event.respondWith(new Response("", { status: 404 }));
    return;
  }
  const headers = {
    "Content-Type": "application/octet-stream",
    "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(entry.name)}`,
    "X-Content-Type-Options": "nosniff",
  };
  entry.port.postMessage({ started: true }); // the browser asked: the download has begun
  if (Number.isSafeInteger(entry.size) && entry.size >= 0) {
    headers["Content-Length"] = String(entry.size);
  }
  event.respondWith(new Response(entry.stream, { headers }));
});
