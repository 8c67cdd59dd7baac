// ---- section.js: one report on the dashboard -----------------------------------------------------------
// Its title and Download menu, a sentence saying what it shows (the chart's text alternative), then the
// chart with a button showing its numbers as a table, or the report's sortable table. Python
// (passkit/dashboard.py `Section`) sets the traits; the page only ever sends requests, which the
// kernel checks: {kind: "download", format, view}, {kind: "table", open}, {kind: "pick", row | datum}.

let sectionCount = 0;

function render({ model, el }) {
  widgetStarted();
  const id = `passkit-section-${++sectionCount}`;
  const title = model.get("title");
  el.setAttribute("role", "region");
  el.setAttribute("aria-labelledby", `${id}-title`);

  const head = document.createElement("div");
  head.className = "passkit-section-head";
  const heading = document.createElement("h2");
  heading.id = `${id}-title`;
  heading.textContent = title;
  const menu = createMenu({
    formats: model.get("formats"), title: `Download ${title}`,
    onChoose: (format) => model.send({ kind: "download", format, view: tableShown() ? table.state() : null }),
  });
  head.append(heading, menu.el);

  const note = paragraph("passkit-note", model.get("note"));
  const summary = paragraph("passkit-summary");
  summary.id = `${id}-summary`;
  const sampled = paragraph("passkit-note passkit-sampled");
  const empty = paragraph("passkit-empty");
  const explain = document.createElement("div");
  explain.className = "passkit-explain";
  const graph = model.get("kind") === "graph";
  const chart = graph ? createChart({
    label: title, pickFields: () => model.get("pick_fields") || [], widgets: model.get("page_widgets"),
    onPick: (datum) => model.send({ kind: "pick", datum }),
  }) : null;
  const table = createTable({ label: title, onPick: (row) => model.send({ kind: "pick", row }) });
  table.el.id = `${id}-table`;
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "passkit-table-toggle";
  toggle.setAttribute("aria-controls", table.el.id);
  toggle.addEventListener("click", () => {
    toggle.disabled = true;  // until the kernel answers
    model.send({ kind: "table", open: !model.get("table_open") });
  });

  el.append(head, note, summary, sampled, empty, ...(chart ? [chart.el, explain, toggle] : []), table.el);

  function paragraph(className, text) {
    const node = document.createElement("p");
    node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function tableShown() {
    return !table.el.hidden && model.get("state") === "shown";
  }

  function update() {
    const state = model.get("state");
    const shown = state === "shown";
    empty.hidden = shown;
    empty.textContent = model.get("message");
    menu.el.hidden = state === "unavailable";
    summary.hidden = !shown;
    summary.textContent = model.get("summary");
    sampled.hidden = !shown || !model.get("sampled");
    sampled.textContent = model.get("sampled");
    const lines = model.get("explain") || [];
    explain.hidden = !shown || !lines.length;
    explain.replaceChildren(...lines.map((line) => paragraph("", line)));
    const open = model.get("table_open");
    table.el.hidden = !shown || (graph && !open);
    if (chart) {
      chart.el.hidden = !shown;
      toggle.hidden = !shown;
      toggle.disabled = false;
      toggle.textContent = open ? "Hide the table" : "Show the numbers as a table";
      toggle.setAttribute("aria-expanded", String(open));
      if (shown) chart.draw(model.get("spec"), model.get("revision"));
    }
  }

  function updateTable() {
    table.setData({ columns: model.get("columns"), rows: model.get("rows"), pick: model.get("pick"),
                    pickColumn: model.get("pick_column") });
  }

  // Traits arrive together (one message per refresh): arrange once, after the last of them.
  let pending = false, tablePending = false;
  const schedule = () => {
    if (!pending) { pending = true; queueMicrotask(() => { pending = false; update(); }); }
  };
  const scheduleTable = () => {
    if (!tablePending) { tablePending = true; queueMicrotask(() => { tablePending = false; updateTable(); }); }
  };
  for (const name of ["state", "message", "summary", "sampled", "explain", "spec", "revision", "table_open"]) {
    model.on(`change:${name}`, schedule);
  }
  for (const name of ["columns", "rows", "pick", "pick_column"]) model.on(`change:${name}`, scheduleTable);
  model.on("msg:custom", (message, buffers) => menu.deliver(message, buffers));
  updateTable();
  update();
  return () => { menu.dispose(); if (chart) chart.dispose(); };
}

export default { render };
