// WebSockets that reconnect with exponential backoff and tell the app to resync afterwards.

const BASE_DELAY = 500;
const MAX_DELAY = 30000;

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * A socket that stays connected until closed.
 * Callbacks: onMessage(data), onState("connecting" | "online" | "offline"),
 * onReconnect() after every successful connection but the first (resync state there),
 * shouldReconnect(closeEvent) -> false to stop (e.g. a run stream that has finished).
 */
export class LiveSocket {
  constructor(path, { onMessage, onState = () => {}, onReconnect = () => {}, shouldReconnect = () => true }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onState = onState;
    this.onReconnect = onReconnect;
    this.shouldReconnect = shouldReconnect;
    this.attempt = 0;
    this.connectedBefore = false;
    this.closed = false;
    this.timer = null;
    this.socket = null;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    this.onState("connecting");
    const socket = new WebSocket(wsUrl(this.path));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.onState("online");
      if (this.connectedBefore) this.onReconnect();
      this.connectedBefore = true;
    });
    socket.addEventListener("message", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(data);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.closed || !this.shouldReconnect(event)) {
        this.onState("closed");
        return;
      }
      this.onState("offline");
      this.schedule();
    });
  }

  /** Backoff: 0.5 s, 1 s, 2 s … up to 30 s, with jitter so many tabs do not stampede. */
  delay() {
    const base = Math.min(MAX_DELAY, BASE_DELAY * 2 ** this.attempt);
    return base / 2 + Math.random() * (base / 2);
  }

  schedule() {
    clearTimeout(this.timer);
    const wait = this.delay();
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), wait);
  }

  /** Reconnect now (e.g. when the browser comes back online). */
  retryNow() {
    if (this.closed || this.socket) return;
    clearTimeout(this.timer);
    this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
  }
}
