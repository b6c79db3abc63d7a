// Follow one run over /api/v1/jobs/{id}/stream (progress, log, status, complete, error).

import { LiveSocket } from "./live.js";

/**
 * handlers: onMessage(message), onResync() after a reconnect, onState(state).
 * The socket stops reconnecting once a complete or error message has arrived.
 */
export function streamRun(runId, { onMessage, onResync = () => {}, onState = () => {} }) {
  let finished = false;
  const socket = new LiveSocket(`/api/v1/jobs/${encodeURIComponent(runId)}/stream`, {
    onMessage(message) {
      if (message.type === "complete" || message.type === "error") finished = true;
      onMessage(message);
    },
    onState,
    onReconnect: onResync,
    // 1008: policy violation (not allowed), 4xxx: application refusals (unknown run, forbidden).
    shouldReconnect: (event) => !finished && event.code !== 1008 && !(event.code >= 4000 && event.code < 5000),
  });
  return {
    close: () => socket.close(),
    markFinished() {
      finished = true;
    },
  };
}
