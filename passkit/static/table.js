// ---- table.js: a sortable, filterable, paged table ---------------------------------------------------
// Every row stays in the page and one page of them is in the DOM, so thousands of rooms redraw in
// milliseconds. Clicking a column title sorts by it (ascending, then descending); the filter box keeps
// rows whose text contains it. passkit/dashboard_data.py `arrange` applies the very same rules to a
// download, so the file holds what the page shows:
// - a row is kept when any cell's text, as shown, contains the filter, ignoring case;
// - numbers sort by value, text in natural order (digit runs as numbers, the rest by UTF-16 code unit,
//   ignoring case); blank cells go last either way; ties keep the report's order.
// The sort, filter and page size survive new rows, so a range change keeps the admin's view.

const TABLE_SIZES = [15, 50, 100, 500];
const TABLE_NUMBER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

function tableElement(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function tableText(value, numeric) {
  if (value === null || value === undefined) return "";
  return numeric && typeof value === "number" ? TABLE_NUMBER.format(value) : String(value);
}

function isBlank(value) {
  return value === null || value === undefined || value === "";
}

function naturalCompare(a, b) {
  const x = a.toLowerCase().split(/(\d+)/), y = b.toLowerCase().split(/(\d+)/);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    if (i % 2) {  // digit runs, compared as numbers of any length
      const p = x[i].replace(/^0+/, ""), q = y[i].replace(/^0+/, "");
      if (p === q) continue;
      if (p.length !== q.length) return p.length - q.length;
      return p < q ? -1 : 1;
    }
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

function compareCells(a, b, numeric) {
  return numeric ? a - b : naturalCompare(String(a), String(b));
}

let tableCount = 0;

// `onPick(index)` opens what a row stands for (a student, a room); its cell is a button.
function createTable({ label, onPick }) {
  const el = tableElement("div", "passkit-table-widget");
  const view = { column: null, descending: false, filter: "", size: TABLE_SIZES[0], page: 0 };
  let columns = [], rows = [], texts = [], order = [], pick = "", pickColumn = null;
  const id = `passkit-table-${++tableCount}`;

  const bar = tableElement("div", "passkit-table-bar");
  const sizes = tableElement("select", "passkit-table-size");
  sizes.setAttribute("aria-label", "Rows per page");
  for (const size of TABLE_SIZES) sizes.appendChild(new Option(`${size} rows per page`, String(size)));
  const search = tableElement("input", "passkit-table-filter");
  Object.assign(search, { type: "search", placeholder: "Filter rows…" });
  search.setAttribute("aria-label", `Filter the rows of ${label}`);
  search.setAttribute("aria-controls", id);
  bar.append(sizes, search);

  const scroll = tableElement("div", "passkit-table-scroll");
  const table = tableElement("table", "passkit-table");
  table.id = id;
  const caption = table.createCaption();
  caption.className = "passkit-sr-only";
  caption.textContent = label;
  const head = table.createTHead().insertRow();
  const body = table.createTBody();
  scroll.appendChild(table);
  const footer = tableElement("div", "passkit-table-footer");
  const info = tableElement("span", "passkit-table-info");
  info.setAttribute("aria-live", "polite");
  const previous = tableElement("button", "passkit-table-previous", "‹ Previous");
  const next = tableElement("button", "passkit-table-next", "Next ›");
  previous.type = next.type = "button";
  footer.append(info, previous, next);
  el.append(bar, scroll, footer);

  function setData(data) {
    const names = columns.map((c) => c.name).join("\u0000");
    columns = data.columns || [];
    rows = data.rows || [];
    pick = data.pick || "";
    pickColumn = data.pickColumn ?? null;
    texts = rows.map((row) => row.map((v, i) => tableText(v, columns[i] && columns[i].numeric)).join("\u0000").toLowerCase());
    if (columns.map((c) => c.name).join("\u0000") !== names) {
      view.column = null;  // another table: its own order first
      drawHeader();
    }
    arrange();
  }

  function drawHeader() {
    head.replaceChildren(...columns.map((column, index) => {
      const cell = tableElement("th", column.numeric ? "numeric" : "");
      cell.scope = "col";
      const sort = tableElement("button", "passkit-sort", column.name);
      sort.type = "button";
      sort.title = `Sort by ${column.name}`;
      sort.addEventListener("click", () => {
        view.descending = view.column === index ? !view.descending : false;
        view.column = index;
        arrange();
      });
      cell.appendChild(sort);
      return cell;
    }));
  }

  // Filter, then sort (stably, so ties keep the report's own order), then show the first page.
  function arrange() {
    const needle = view.filter.toLowerCase();
    order = [];
    for (let i = 0; i < rows.length; i++) if (!needle || texts[i].includes(needle)) order.push(i);
    if (view.column !== null && columns[view.column]) {
      const at = view.column, numeric = columns[at].numeric, sign = view.descending ? -1 : 1;
      const filled = order.filter((i) => !isBlank(rows[i][at])), blank = order.filter((i) => isBlank(rows[i][at]));
      filled.sort((a, b) => sign * compareCells(rows[a][at], rows[b][at], numeric) || a - b);
      order = filled.concat(blank);
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
      const line = tableElement("tr");
      rows[index].forEach((value, i) => {
        const numeric = columns[i] && columns[i].numeric;
        const cell = tableElement("td", numeric ? "numeric" : "");
        if (pick && i === pickColumn && onPick) {
          const open = tableElement("button", "passkit-link", tableText(value, numeric));
          open.type = "button";
          open.title = pick === "room" ? "Show this room's busiest times and students" : "Show this student's passes";
          open.addEventListener("click", () => onPick(index));
          cell.appendChild(open);
        } else {
          cell.textContent = tableText(value, numeric);
        }
        line.appendChild(cell);
      });
      return line;
    }));
    const of = `${TABLE_NUMBER.format(order.length)} ${order.length === 1 ? "row" : "rows"}`;
    info.textContent = order.length ? `${TABLE_NUMBER.format(first + 1)}–${TABLE_NUMBER.format(last)} of ${of}` +
      (order.length < rows.length ? ` (filtered from ${TABLE_NUMBER.format(rows.length)})` : "") : "No matching rows";
    previous.disabled = view.page === 0;
    next.disabled = view.page >= pages - 1;
    el.dataset.rows = String(order.length);
  }

  sizes.addEventListener("change", () => { view.size = Number(sizes.value); draw(); });
  search.addEventListener("input", () => { view.filter = search.value; arrange(); });
  previous.addEventListener("click", () => { view.page -= 1; draw(); });
  next.addEventListener("click", () => { view.page += 1; draw(); });

  // What a download asks the kernel to apply: the same filter and sort.
  function state() {
    return { column: view.column, descending: view.descending, filter: view.filter };
  }
  return { el, setData, state };
}
