// Keeping the dashboard live: the collector pushes a notice on /api/live (server-sent events) when
// events are stored or the config changes, and the page refetches what it shows. When the stream
// cannot be had (refused past the collector's cap, a proxy that drops it, no EventSource) the page
// polls instead, and goes back to the stream when it reconnects.

export const POLL_MS = 2000;
/** Even with the stream up, refetch this often: an expired session (the stream outlives it) or a
 * lost notice shows within it. */
export const LIVE_CHECK_MS = 10000;

/**
 * Calls `refresh(reason)` when what `wants(notice)` accepts was stored, on config changes, on every
 * (re)connection (something may have been missed meanwhile) and every POLL_MS while not connected.
 * `onMode(mode)` hears 'live' or 'polling'. Returns a function that stops it all.
 */
export function follow({ refresh, wants, onMode }) {
  let source = null;
  let timer = null;
  let stopped = false;
  const check = setInterval(() => {
    if (timer === null) refresh('check');
  }, LIVE_CHECK_MS);

  function poll() {
    if (timer !== null || stopped) return;
    onMode('polling');
    const tick = () => {
      timer = setTimeout(tick, POLL_MS);
      refresh('poll');
    };
    timer = setTimeout(tick, POLL_MS);
  }

  function stopPolling() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  if (typeof EventSource !== 'function') {
    poll();
    return () => { stopped = true; stopPolling(); clearInterval(check); };
  }
  source = new EventSource('/api/live');
  source.addEventListener('open', () => {
    stopPolling();
    onMode('live');
    refresh('connected');
  });
  source.addEventListener('stored', (event) => {
    let notice = null;
    try {
      notice = JSON.parse(event.data);
    } catch {
      notice = { any: true };
    }
    if (wants(notice)) refresh('stored');
  });
  source.addEventListener('config', () => refresh('config'));
  // A refused stream (401, 503) is closed for good; a dropped one reconnects by itself. Either way
  // poll until it is open again.
  source.addEventListener('error', () => poll());
  return () => {
    stopped = true;
    source.close();
    stopPolling();
    clearInterval(check);
  };
}
