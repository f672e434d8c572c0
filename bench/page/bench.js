// Row 7 in the page: the widget following a live run, and xterm.js alone writing the same
// bytes, in the same page, one after the other. A 50 ms interval timer runs through each test
// and records how late it fires (the page's responsiveness).
"use strict";

const TERM_HEIGHT_PX = 320; // the widget's default height_px
const ALONE_WINDOW = 4 * 1024 * 1024; // the widget's flow-control window (session.ts)

const lagTimer = {
  handle: null,
  last: 0,
  max: 0,
  ticks: 0,
  start() {
    this.stop();
    this.max = 0;
    this.ticks = 0;
    this.last = performance.now();
    this.handle = setInterval(() => {
      const now = performance.now();
      this.max = Math.max(this.max, now - this.last - 50);
      this.last = now;
      this.ticks += 1;
    }, 50);
  },
  stop() {
    if (this.handle !== null) clearInterval(this.handle);
    this.handle = null;
    // A timer starved until now counts too.
    return { maxLagMs: Math.max(this.max, performance.now() - this.last - 50), ticks: this.ticks };
  },
};

// What the widget's socket did, to see where its time goes: output bytes received, acks sent,
// and the time during which everything received had already been parsed by xterm.js (all of
// it acknowledged), i.e. the terminal was starved, waiting for the server.
const wire = {
  reset() {
    this.received = 0; // output characters received
    this.acked = 0; // characters of the output acknowledged (= parsed by xterm.js)
    this.messages = 0;
    this.acks = 0;
    this.bySeq = new Map(); // seq -> cumulative characters received up to that seq
    this.starvedMs = 0;
    this.starvedSince = 0;
    this.lastMessageAt = 0;
    this.parseMs = 0; // time in the widget's onmessage (JSON.parse + batching)
  },
};
wire.reset();

class InstrumentedWebSocket extends WebSocket {
  set onmessage(handler) {
    super.onmessage = handler === null ? null : (event) => {
      const start = performance.now();
      handler(event);
      const end = performance.now();
      wire.parseMs += end - start;
      const data = typeof event.data === "string" ? event.data : "";
      const match = /^\{"type":"std(?:out|err)","seq":(\d+),"data":/.exec(data.slice(0, 64));
      if (match) {
        // Characters of text: the frame minus its envelope (escapes make this an over-count
        // of at most a few bytes per line; it is only used to see when input ran dry).
        wire.received += data.length;
        wire.messages += 1;
        wire.bySeq.set(Number(match[1]), wire.received);
        wire.lastMessageAt = end;
        if (wire.starvedSince) {
          wire.starvedMs += start - wire.starvedSince;
          wire.starvedSince = 0;
        }
      }
    };
  }
  get onmessage() {
    return super.onmessage;
  }
  send(data) {
    const match = /^\{"type":"ack","seq":(\d+)/.exec(String(data));
    if (match) {
      wire.acks += 1;
      const upTo = wire.bySeq.get(Number(match[1]));
      if (upTo !== undefined) wire.acked = upTo;
      if (wire.acked >= wire.received && !wire.starvedSince) wire.starvedSince = performance.now();
    }
    super.send(data);
  }
}
window.WebSocket = InstrumentedWebSocket;

let blockText = null;
async function block() {
  if (blockText === null) blockText = await (await fetch("/bench-page/block.txt")).text();
  return blockText;
}

function makeTerminal(slotId) {
  const slot = document.getElementById(slotId);
  slot.innerHTML = "";
  const container = document.createElement("div");
  container.className = "nebula-term";
  container.style.height = `${TERM_HEIGHT_PX}px`;
  slot.appendChild(container);
  const term = new Terminal({
    convertEol: true,
    disableStdin: true,
    cursorBlink: false,
    cursorInactiveStyle: "none",
    scrollback: 10000,
    fontSize: 13,
    // What the widget computes on this page (theme.ts): no JupyterLab CSS variables here, so
    // the "monospace" family and the light theme's colours.
    fontFamily: "monospace",
    theme: {
      background: "#ffffff",
      foreground: "#1e1e1e",
      cursor: "#1e1e1e",
      cursorAccent: "#ffffff",
      selectionBackground: "rgba(40, 100, 200, 0.25)",
    },
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(container);
  fit.fit();
  return term;
}

// xterm.js alone: the widget's terminal options, its container size, its flow-control window;
// blocks of whole lines written back to back, the next one as soon as the window allows.
window.xtermAlone = async function xtermAlone(totalBytes) {
  const data = await block();
  const term = makeTerminal("alone");
  await new Promise((resolve) => requestAnimationFrame(resolve));

  lagTimer.start();
  const t0 = performance.now();
  const elapsed = await new Promise((resolve) => {
    let queued = 0;
    let parsed = 0;
    let inFlight = 0;
    const pump = () => {
      while (queued < totalBytes && inFlight < ALONE_WINDOW) {
        const piece = Math.min(data.length, totalBytes - queued);
        const text = piece === data.length ? data : data.slice(0, piece);
        queued += piece;
        inFlight += piece;
        term.write(text, () => {
          inFlight -= piece;
          parsed += piece;
          if (parsed >= totalBytes) resolve(performance.now() - t0);
          else pump();
        });
      }
    };
    pump();
  });
  const lag = lagTimer.stop();
  term.dispose();
  document.getElementById("alone").innerHTML = "";
  return { ms: elapsed, maxLagMs: lag.maxLagMs, ticks: lag.ticks };
};

// The least a page can do to show a stream: one socket, every output frame straight into
// xterm.js (JSON text frames parsed, or binary frames as bytes), no batching, no acks. Fed by
// the bench's ceiling server: what the transport costs in the page, without the widget.
const bare = { socket: null, term: null, t0: 0, done: null };

window.bareMount = async function bareMount(url) {
  const term = makeTerminal("alone");
  await new Promise((resolve) => requestAnimationFrame(resolve));
  bare.term = term;
  bare.t0 = 0;
  let pending = 0;
  let ended = false;
  let finish = null;
  bare.done = new Promise((resolve) => { finish = resolve; });
  const settle = () => {
    if (ended && pending === 0) finish(performance.now() - bare.t0);
  };
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => {
    let data;
    if (typeof event.data === "string") {
      const message = JSON.parse(event.data);
      if (message.type === "status") {
        if (["succeeded", "failed", "cancelled"].includes(message.status)) {
          ended = true;
          settle();
        }
        return;
      }
      data = message.data;
    } else {
      data = new Uint8Array(event.data);
    }
    pending += 1;
    term.write(data, () => {
      pending -= 1;
      settle();
    });
  };
  bare.socket = socket;
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("bare socket failed"));
  });
  return true;
};

window.bareStart = function bareStart() {
  lagTimer.start();
  bare.t0 = performance.now();
};

window.bareResult = async function bareResult() {
  const ms = await bare.done;
  const lag = lagTimer.stop();
  bare.socket.close();
  bare.term.dispose();
  document.getElementById("alone").innerHTML = "";
  return { ms, maxLagMs: lag.maxLagMs };
};

// The widget: anywidget's render() with a minimal model, exactly as a notebook would call it.
let widgetModule = null;
let widgetCleanup = null;
const marks = { t0: 0, statusAt: 0, allBytesAt: 0, total: 0, status: "" };

window.widgetMount = async function widgetMount(runId, totalBytes) {
  if (widgetModule === null) widgetModule = (await import("/bench-page/widget.js")).default;
  window.widgetUnmount();
  const state = { run_id: runId, height_px: TERM_HEIGHT_PX, tail_bytes: 2000000, show_cancel: true,
                  font_size_px: 13, base_url: "" };
  const model = { get: (name) => state[name], on() {}, off() {} };
  const el = document.getElementById("widget");
  el.innerHTML = "";
  widgetCleanup = widgetModule.render({ model, el });
  marks.t0 = 0; marks.statusAt = 0; marks.allBytesAt = 0; marks.total = totalBytes; marks.status = "";
  const root = el.querySelector(".nebula-run");
  const observer = new MutationObserver(() => {
    const now = performance.now();
    const status = root.dataset.status;
    if (marks.t0 && !marks.statusAt && ["succeeded", "failed", "cancelled"].includes(status)) {
      marks.statusAt = now;
      marks.status = status;
    }
    if (marks.t0 && !marks.allBytesAt && Number(root.dataset.bytesWritten) >= marks.total) {
      marks.allBytesAt = now;
    }
  });
  observer.observe(root, { attributes: true, attributeFilter: ["data-status", "data-bytes-written"] });
  // Connected: the socket is open and the run's status has been shown.
  const deadline = performance.now() + 30000;
  while (root.dataset.connection !== "open" || root.dataset.status !== "running") {
    if (performance.now() > deadline) throw new Error(`widget did not connect: ${root.dataset.connection}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
};

// Called by the bench right before it opens the gate.
window.widgetStart = function widgetStart() {
  wire.reset();
  lagTimer.start();
  marks.t0 = performance.now();
};

window.widgetDone = function widgetDone() {
  return Boolean(marks.statusAt && marks.allBytesAt);
};

window.widgetResult = function widgetResult() {
  const lag = lagTimer.stop();
  const root = document.querySelector("#widget .nebula-run");
  return {
    statusMs: marks.statusAt - marks.t0,
    allBytesMs: marks.allBytesAt - marks.t0,
    ms: Math.max(marks.statusAt, marks.allBytesAt) - marks.t0,
    status: marks.status,
    bytesWritten: Number(root.dataset.bytesWritten),
    maxLagMs: lag.maxLagMs,
    ticks: lag.ticks,
    messages: wire.messages,
    acks: wire.acks,
    starvedMs: wire.starvedMs,
    onmessageMs: wire.parseMs,
    lastMessageMs: wire.lastMessageAt - marks.t0,
  };
};

window.widgetUnmount = function widgetUnmount() {
  if (widgetCleanup !== null) widgetCleanup();
  widgetCleanup = null;
  document.getElementById("widget").innerHTML = "";
};
