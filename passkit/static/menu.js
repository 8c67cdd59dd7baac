// ---- menu.js: the "Download" button and its menu of formats ------------------------------------------
// The kernel writes the file and sends its bytes back; the browser saves them as a normal download.
// Keyboard: Enter, Space or Down opens the menu on its first item; Up/Down/Home/End move; Enter picks;
// Escape (or Tab) closes it and focus goes back to the button.

const MENU_LABELS = { csv: "CSV", xlsx: "Excel (XLSX)", png: "Image (PNG)" };

function createMenu({ formats, title, onChoose }) {
  const el = document.createElement("div");
  el.className = "passkit-download";
  const button = document.createElement("button");
  button.className = "passkit-download-button";
  button.type = "button";
  button.textContent = "Download \u25BE";
  button.setAttribute("aria-haspopup", "menu");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-label", title);
  button.title = title;

  const menu = document.createElement("div");
  menu.className = "passkit-download-menu";
  menu.setAttribute("role", "menu");
  menu.setAttribute("aria-label", title);
  menu.hidden = true;
  const status = document.createElement("span");
  status.className = "passkit-download-status";
  status.setAttribute("role", "status");

  const items = formats.map((format) => {
    const item = document.createElement("button");
    item.type = "button";
    item.tabIndex = -1;
    item.setAttribute("role", "menuitem");
    item.dataset.format = format;
    item.textContent = MENU_LABELS[format] || format.toUpperCase();
    item.addEventListener("click", () => {
      setOpen(false);
      button.focus();
      status.textContent = "Preparing\u2026";
      onChoose(format);
    });
    menu.appendChild(item);
    return item;
  });

  function setOpen(open, focusIndex) {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open && focusIndex !== undefined) items[(focusIndex + items.length) % items.length].focus();
  }

  button.addEventListener("click", () => setOpen(menu.hidden, menu.hidden ? 0 : undefined));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setOpen(true, event.key === "ArrowDown" ? 0 : -1);
    }
  });
  menu.addEventListener("keydown", (event) => {
    const at = items.indexOf(document.activeElement);
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: -1 };
    if (event.key in moves) {
      event.preventDefault();
      items[(moves[event.key] + items.length) % items.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();  // a dialog around the menu stays open
      setOpen(false);
      button.focus();
    } else if (event.key === "Tab") {
      setOpen(false);
    }
  });
  const closeOutside = (event) => { if (!el.contains(event.target)) setOpen(false); };
  document.addEventListener("click", closeOutside);

  // A message from the kernel: the file, or why there is none.
  function deliver(message, buffers) {
    if (message.kind === "file" && buffers && buffers.length) {
      const blob = new Blob([buffers[0]], { type: message.mime });
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = message.filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.textContent = "";
    } else if (message.kind === "error") {
      status.textContent = message.text;
    }
  }

  el.append(button, menu, status);
  return { el, deliver, dispose: () => document.removeEventListener("click", closeOutside) };
}
