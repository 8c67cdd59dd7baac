// ---- chart.js: a Vega-Lite chart as wide as its box -------------------------------------------------
// Drawn with the Vega bundle served by passkit's own server (no CDN), on a canvas (a district scatter of
// 3,000 dots draws in ~65 ms, against ~250 ms as SVG elements). A spec with width "container" takes
// its box's width, measured here and followed with a ResizeObserver (a phone turned sideways, a window
// resized, a section moving to another column). Below 520 px legends go under the plot.
// `onPick(datum)` receives the clicked mark's `pickFields` (a student's dot or bar).

const VEGA_BUNDLE = "passkit/static/vega.js";
const NARROW = 520;

function vegaBaseUrl() {
  const config = document.getElementById("jupyter-config-data");
  try {
    return JSON.parse(config.textContent).baseUrl || "/";
  } catch (error) {
    return "/";
  }
}

// Running Vega's bundle is one long task (~0.6 s, seconds on a busy machine). anywidget gives each
// widget 2 s to start, and one that misses it never hears from its kernel again; so the bundle waits
// until the page's widgets (`expected`, from the kernel) have started, or 8 s at most.
function widgetStarted() {
  window.__passkitStarted = (window.__passkitStarted || 0) + 1;
  document.dispatchEvent(new Event("passkit-started"));
}

function widgetsStarted(expected) {
  return new Promise((resolve) => {
    const check = () => {
      if ((window.__passkitStarted || 0) < expected) return;
      document.removeEventListener("passkit-started", check);
      resolve();
    };
    document.addEventListener("passkit-started", check);
    setTimeout(resolve, 8000);  // a widget that is never shown must not keep the charts away
    check();
  });
}

function loadVega(expected) {
  if (!window.__passkitVega) {
    window.__passkitVega = window.vegaEmbed
      ? Promise.resolve(window.vegaEmbed)
      : widgetsStarted(expected).then(() => new Promise((resolve, reject) => {
          const script = document.createElement("script");
          script.src = vegaBaseUrl() + VEGA_BUNDLE;
          script.onload = () => resolve(window.vegaEmbed);
          script.onerror = () => reject(new Error("the chart library could not be loaded"));
          document.head.appendChild(script);
        }));
  }
  return window.__passkitVega;
}

// Everything but the rows: when it is unchanged, new data can flow into the drawn view.
function chartLayout(spec, narrow) {
  const { datasets, usermeta, ...rest } = spec;
  return JSON.stringify(rest) + (narrow ? "|narrow" : "");
}

function sizedSpec(spec, width, narrow, pickable) {
  const shown = { ...spec, config: { ...(spec.config || {}) } };
  shown.config.axis = { labelOverlap: "greedy", labelSeparation: 4, ...(shown.config.axis || {}) };
  if (spec.width === "container") {
    shown.width = width;
    shown.autosize = { type: "fit-x", contains: "padding" };
  }
  if (narrow) {
    shown.config.legend = { ...(shown.config.legend || {}), orient: "bottom", direction: "horizontal",
                            columns: Math.max(1, Math.floor(width / 90)) };
  }
  if (pickable) shown.config.mark = { ...(shown.config.mark || {}), cursor: "pointer" };
  return shown;
}

function createChart({ label, onPick, pickFields, widgets = 0 }) {
  const el = document.createElement("div");
  el.className = "passkit-chart";
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", label);
  const target = document.createElement("div");
  target.className = "passkit-chart-canvas";
  el.appendChild(target);
  let view = null, drawnLayout = null, latest = 0, spec = null, revision = "", width = 0;

  async function draw(nextSpec, nextRevision) {
    spec = nextSpec;
    revision = nextRevision;
    const request = ++latest;
    const vegaEmbed = await loadVega(widgets);
    if (request !== latest || !spec) return;
    width = Math.floor(target.clientWidth);
    if (!width) return;  // not on screen yet: drawn when it gets a size
    const narrow = width < NARROW;
    const began = performance.now();
    if (view && chartLayout(spec, narrow) === drawnLayout) {
      // Same chart, new rows (most range changes): swap the data, skip compiling the spec again.
      for (const [name, values] of Object.entries(spec.datasets || {})) view.data(name, values);
      if (spec.width === "container") view.width(width);
      await view.runAsync();
    } else {
      if (view) view.finalize();
      const pickable = pickFields().length > 0;
      const result = await vegaEmbed(target, sizedSpec(spec, width, narrow, pickable),
                                     { actions: false, renderer: "canvas" });
      if (request !== latest) return result.view.finalize();
      view = result.view;
      drawnLayout = chartLayout(spec, narrow);
      el.passkitView = view;  // lets tests and the benchmark read what is drawn
      view.addEventListener("click", (event, item) => {
        const fields = pickFields();
        if (!fields.length || !item || !item.datum || item.datum.student_id === undefined) return;
        const datum = {};
        for (const field of fields) datum[field] = item.datum[field] == null ? "" : String(item.datum[field]);
        onPick(datum);
      });
    }
    el.setAttribute("aria-label", spec.description || label);
    el.dataset.drawMs = String(Math.round(performance.now() - began));
    el.dataset.revision = String(revision ?? "");
  }

  function showError(error) {
    target.textContent = "This chart could not be drawn: " + error.message;
  }

  let resizing = false;
  const observer = new ResizeObserver(() => {
    if (resizing) return;
    resizing = true;
    requestAnimationFrame(() => {
      resizing = false;
      const now = Math.floor(target.clientWidth);
      if (spec && now && now !== width) draw(spec, revision).catch(showError);
    });
  });
  observer.observe(target);

  return {
    el,
    draw: (nextSpec, nextRevision) => draw(nextSpec, nextRevision).catch(showError),
    dispose: () => { observer.disconnect(); if (view) view.finalize(); },
  };
}
