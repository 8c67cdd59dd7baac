// A report table. Python sets `columns` and `rows`; every row stays in the page, one page of them
// is in the DOM, so thousands of rooms or staff redraw in milliseconds. Clicking a column title
// sorts by it (ascending, then descending); the filter box keeps rows containing its text. The
// chosen sort, filter and page size survive new rows, so a range change keeps the admin's view.
// Nothing is sent back to the kernel.

const SIZES = [15, 50, 100, 500];
const NUMBER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shown(value, numeric) {
  if (value === null || value === undefined) return "";
  return numeric && typeof value === "number" ? NUMBER.format(value) : String(value);
}

function compare(a, b, numeric) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;  // blanks last either way
  if (b === null || b === undefined) return -1;
  return numeric ? a - b : String(a).localeCompare(String(b), "en", { numeric: true });
}

function render({ model, el }) {
  el.classList.add("passkit-table-widget");
  const view = { column: null, descending: false, filter: "", size: SIZES[0], page: 0 };
  let columns = [], rows = [], texts = [], order = [];

  const bar = element("div", "passkit-table-bar");
  const sizes = element("select", "passkit-table-size");
  sizes.setAttribute("aria-label", "Rows per page");
  for (const size of SIZES) sizes.appendChild(new Option(`${size} rows per page`, String(size)));
  const search = element("input", "passkit-table-filter");
  Object.assign(search, { type: "search", placeholder: "Filter rows…" });
  search.setAttribute("aria-label", "Filter rows");
  bar.append(sizes, search);

  const table = element("table", "passkit-table");
  const head = table.createTHead().insertRow();
  const body = table.createTBody();
  const footer = element("div", "passkit-table-footer");
  const info = element("span", "passkit-table-info");
  const previous = element("button", "passkit-table-previous", "‹ Previous");
  const next = element("button", "passkit-table-next", "Next ›");
  footer.append(info, previous, next);
  el.append(bar, table, footer);

  function load() {
    const names = columns.map((c) => c.name).join("\u0000");
    columns = model.get("columns") || [];
    rows = model.get("rows") || [];
    texts = rows.map((row) => row.map((v, i) => shown(v, columns[i] && columns[i].numeric)).join("\u0000").toLowerCase());
    if (columns.map((c) => c.name).join("\u0000") !== names) {
      view.column = null;  // another table: its own order first
      drawHeader();
    }
    arrange();
  }

  function drawHeader() {
    head.replaceChildren(...columns.map((column, index) => {
      const cell = element("th", column.numeric ? "numeric" : "", column.name);
      cell.tabIndex = 0;
      cell.title = `Sort by ${column.name}`;
      const sort = () => {
        view.descending = view.column === index ? !view.descending : false;
        view.column = index;
        arrange();
      };
      cell.addEventListener("click", sort);
      cell.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
      return cell;
    }));
  }

  // Filter, then sort (stably, so ties keep the report's own order), then show the first page.
  function arrange() {
    const needle = view.filter.toLowerCase();
    order = [];
    for (let i = 0; i < rows.length; i++) if (!needle || texts[i].includes(needle)) order.push(i);
    if (view.column !== null) {
      const index = view.column, numeric = columns[index].numeric, sign = view.descending ? -1 : 1;
      order.sort((a, b) => sign * compare(rows[a][index], rows[b][index], numeric) || a - b);
    }
    view.page = 0;
    draw();
  }

  function draw() {
    head.querySelectorAll("th").forEach((cell, index) => {
      cell.setAttribute("aria-sort", index !== view.column ? "none" : view.descending ? "descending" : "ascending");
    });
    const pages = Math.max(1, Math.ceil(order.length / view.size));
    view.page = Math.min(view.page, pages - 1);
    const first = view.page * view.size, last = Math.min(order.length, first + view.size);
    body.replaceChildren(...order.slice(first, last).map((index) => {
      const line = element("tr");
      rows[index].forEach((value, i) => {
        const numeric = columns[i] && columns[i].numeric;
        line.appendChild(element("td", numeric ? "numeric" : "", shown(value, numeric)));
      });
      return line;
    }));
    const of = `${NUMBER.format(order.length)} ${order.length === 1 ? "row" : "rows"}`;
    info.textContent = order.length ? `${NUMBER.format(first + 1)}–${NUMBER.format(last)} of ${of}` +
      (order.length < rows.length ? ` (filtered from ${NUMBER.format(rows.length)})` : "") : "No matching rows";
    previous.disabled = view.page === 0;
    next.disabled = view.page >= pages - 1;
    el.dataset.rows = String(order.length);
  }

  sizes.addEventListener("change", () => { view.size = Number(sizes.value); draw(); });
  search.addEventListener("input", () => { view.filter = search.value; arrange(); });
  previous.addEventListener("click", () => { view.page -= 1; draw(); });
  next.addEventListener("click", () => { view.page += 1; draw(); });
  let pending = false;  // columns and rows arrive in one message: arrange once
  const schedule = () => {
    if (!pending) { pending = true; queueMicrotask(() => { pending = false; load(); }); }
  };
  model.on("change:rows", schedule);
  model.on("change:columns", schedule);
  load();
}

export default { render };
