// ---- drill.js: the drill-down dialog -------------------------------------------------------------------
// A student's passes in the range (or a room's busiest times and students), over the page. It opens
// when the kernel sets `visible`; focus moves to its title and stays inside it (Tab wraps); Escape, the
// Close button or a click outside closes it and focus returns to what opened it. Rows of a room's
// students open that student. Requests: {kind: "close"}, {kind: "pick", row}, {kind: "download", ...}.

function render({ model, el }) {
  widgetStarted();
  const backdrop = document.createElement("div");
  backdrop.className = "passkit-drill-backdrop";
  backdrop.hidden = true;
  const dialog = document.createElement("div");
  dialog.className = "passkit-drill";
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-modal", "true");
  dialog.setAttribute("aria-labelledby", "passkit-drill-title");
  dialog.setAttribute("aria-describedby", "passkit-drill-summary");

  const head = document.createElement("div");
  head.className = "passkit-drill-head";
  const heading = document.createElement("h2");
  heading.id = "passkit-drill-title";
  heading.tabIndex = -1;
  const subtitle = document.createElement("span");
  subtitle.className = "passkit-drill-subtitle";
  const menu = createMenu({
    formats: model.get("formats"), title: "Download these passes",
    onChoose: (format) => model.send({ kind: "download", format, view: table.state() }),
  });
  const close = document.createElement("button");
  close.type = "button";
  close.className = "passkit-drill-close";
  close.textContent = "Close";
  close.setAttribute("aria-label", "Close (Escape)");
  head.append(heading, subtitle, menu.el, close);
  const summary = document.createElement("p");
  summary.id = "passkit-drill-summary";
  summary.className = "passkit-summary";
  const message = document.createElement("p");
  message.className = "passkit-empty";
  const figures = document.createElement("div");
  figures.className = "passkit-drill-charts";
  const table = createTable({ label: "Passes", onPick: (row) => model.send({ kind: "pick", row }) });
  dialog.append(head, summary, message, figures, table.el);
  backdrop.appendChild(dialog);
  el.appendChild(backdrop);

  let opener = null, charts = [];

  function hide() {
    if (backdrop.hidden) return;
    backdrop.hidden = true;
    document.body.classList.remove("passkit-drill-open");
    model.send({ kind: "close" });
    if (opener && document.contains(opener)) opener.focus();
  }

  function focusable() {
    return [...dialog.querySelectorAll("button, input, select, [tabindex='0']")]
      .filter((node) => !node.disabled && node.offsetParent !== null && node.tabIndex >= 0);
  }

  close.addEventListener("click", hide);
  backdrop.addEventListener("click", (event) => { if (event.target === backdrop) hide(); });
  backdrop.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      hide();
    } else if (event.key === "Tab") {  // keep focus inside the dialog
      const nodes = focusable();
      if (!nodes.length) return;
      const first = nodes[0], last = nodes[nodes.length - 1];
      if (event.shiftKey && (document.activeElement === first || document.activeElement === heading)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  function update() {
    if (!model.get("visible")) {
      if (!backdrop.hidden) { backdrop.hidden = true; document.body.classList.remove("passkit-drill-open"); }
      return;
    }
    const opening = backdrop.hidden;
    if (opening) {
      opener = document.activeElement;
      backdrop.hidden = false;
      document.body.classList.add("passkit-drill-open");
    }
    const loading = model.get("loading");
    dialog.setAttribute("aria-busy", String(loading));
    dialog.dataset.state = loading ? "loading" : model.get("message") ? "message" : "done";
    heading.textContent = model.get("title");
    subtitle.textContent = model.get("subtitle");
    summary.textContent = model.get("summary");
    message.textContent = model.get("message");
    message.hidden = !model.get("message");
    menu.el.hidden = loading || !model.get("rows").length;
    for (const chart of charts) chart.dispose();
    charts = (model.get("charts") || []).map((part) => {
      const figure = document.createElement("figure");
      figure.className = "passkit-drill-figure";
      const caption = document.createElement("figcaption");
      caption.textContent = part.title;
      const chart = createChart({ label: part.summary, pickFields: () => [], onPick: () => {},
                                  widgets: model.get("page_widgets") });
      figure.append(caption, chart.el);
      chart.figure = figure;
      return chart;
    });
    figures.replaceChildren(...charts.map((chart) => chart.figure));
    charts.forEach((chart, index) => chart.draw(model.get("charts")[index].spec, model.get("revision")));
    table.el.hidden = !model.get("rows").length;
    table.setData({ columns: model.get("columns"), rows: model.get("rows"), pick: model.get("pick"),
                    pickColumn: model.get("pick_column") });
    if (opening || !loading) heading.focus();
  }

  let pending = false;
  const schedule = () => {
    if (!pending) { pending = true; queueMicrotask(() => { pending = false; update(); }); }
  };
  for (const name of ["visible", "loading", "revision"]) model.on(`change:${name}`, schedule);
  model.on("msg:custom", (content, buffers) => menu.deliver(content, buffers));
  update();
  return () => { menu.dispose(); for (const chart of charts) chart.dispose(); };
}

export default { render };
