// A download target that streams to the browser's downloads folder through a service worker
// (download-sw.js), for browsers without showSaveFilePicker. It has the writable-stream methods
// download.js uses — write(Blob|Uint8Array: a whole buffer is moved, not copied), close(), abort()
// — and sends a chunk only when the worker's stream asks for one, so memory stays a chunk or two
// whatever the file size.
const WORKER_URL = new URL("./download-sw.js", import.meta.url);
const SCOPE = new URL("./dl/", import.meta.url);
const PING_MS = 10_000; // a service worker with no events is stopped after about 30 s
const READY_MS = 10_000;

/** True when this browser can stream a download through the service worker. */
export function canStream() {
  return window.isSecureContext && "serviceWorker" in navigator && typeof window.showSaveFilePicker !== "function";
}

async function activeWorker() {
  const registration = await navigator.serviceWorker.register(WORKER_URL, { scope: SCOPE.pathname });
  // Each build has its own URL, so its own registration: drop those of earlier builds.
  for (const other of await navigator.serviceWorker.getRegistrations()) {
    if (other.scope !== registration.scope && new URL(other.scope).pathname.endsWith("/js/dl/")) {
      other.unregister().catch(() => {});
    }
  }
  const worker = registration.active ?? registration.waiting ?? registration.installing;
  if (worker.state !== "activated") {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the download worker did not start")), READY_MS);
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated") {
          clearTimeout(timer);
          resolve();
        } else if (worker.state === "redundant") {
          clearTimeout(timer);
          reject(new Error("the download worker did not start"));
        }
      });
    });
  }
  return registration.active;
}

function randomId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Open a streamed download of `descriptor.name`; null when it cannot be set up (the caller then
 * keeps the file as a Blob).
 * @param {{name: string, size: number}} descriptor
 * @returns {Promise<{write: (data: Blob|Uint8Array) => Promise<void>, close: () => Promise<void>, abort: () => Promise<void>}|null>}
 */
export async function streamTarget(descriptor) {
  let worker;
  try {
    worker = await activeWorker();
  } catch {
    return null;
  }
  const id = randomId();
  const { port1: port, port2 } = new MessageChannel();
  let credits = 0;
  let cancelled = false;
  let wake = () => {};
  let begun = () => {};
  const started = new Promise((resolve) => {
    begun = resolve;
  });
  const ready = new Promise((resolve) => {
    port.onmessage = ({ data }) => {
      if (data.ready) {
        resolve();
      } else if (data.started) {
        begun(true);
      } else if (data.pull) {
        credits += 1;
      } else if (data.cancelled) {
        cancelled = true;
      }
      wake();
    };
  });
  worker.postMessage({ type: "open", id, name: descriptor.name, size: descriptor.size }, [port2]);
  await ready;
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.title = descriptor.name;
  frame.src = `${SCOPE.pathname}${id}/${encodeURIComponent(descriptor.name || "attachment")}`;
  document.body.append(frame);
  // If the browser did not hand the frame's request to the worker (some privacy settings and
  // developer tools bypass service workers), nothing would ever be read: fall back to a Blob.
  const timer = setTimeout(() => begun(false), READY_MS);
  if (!(await started)) {
    frame.remove();
    port.close();
    return null;
  }
  clearTimeout(timer);
  const ping = setInterval(() => worker.postMessage({ type: "ping" }), PING_MS);
  const done = () => {
    clearInterval(ping);
    setTimeout(() => frame.remove(), 60_000);
  };
  return {
    async write(data) {
      // A whole buffer is moved to the worker as it is (download.js hands over a fresh one per
      // chunk); a view into a larger buffer is copied first.
      const whole = !(data instanceof Blob) && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
      const bytes = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : whole ? data : data.slice();
      while (credits === 0 && !cancelled) {
        await new Promise((resolve) => {
          wake = resolve;
        });
      }
      if (cancelled) {
        throw new Error("the download was cancelled in the browser");
      }
      credits -= 1;
      port.postMessage({ chunk: bytes.buffer }, [bytes.buffer]);
    },
    async close() {
      port.postMessage({ close: true });
      done();
    },
    async abort() {
      port.postMessage({ error: true });
      done();
    },
  };
}
