// "Download" button with a menu of formats. The kernel writes the file (the same writers as
// `passkit report`) and sends its bytes back; the browser saves them as a normal download.

const LABELS = { csv: "CSV", xlsx: "Excel (XLSX)", png: "Image (PNG)" };

function render({ model, el }) {
  el.classList.add("passkit-download");
  const button = document.createElement("button");
  button.className = "passkit-download-button";
  button.type = "button";
  button.textContent = "Download \u25BE";
  button.setAttribute("aria-haspopup", "menu");
  button.setAttribute("aria-expanded", "false");
  button.title = model.get("title");

  const menu = document.createElement("div");
  menu.className = "passkit-download-menu";
  menu.setAttribute("role", "menu");
  menu.hidden = true;
  const status = document.createElement("span");
  status.className = "passkit-download-status";

  function setOpen(open) {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  }

  for (const format of model.get("formats")) {
    const item = document.createElement("button");
    item.type = "button";
    item.setAttribute("role", "menuitem");
    item.dataset.format = format;
    item.textContent = LABELS[format] || format.toUpperCase();
    item.addEventListener("click", () => {
      setOpen(false);
      status.textContent = "Preparing\u2026";
      model.send({ kind: "download", format });
    });
    menu.appendChild(item);
  }

  button.addEventListener("click", () => setOpen(menu.hidden));
  const closeOutside = (event) => { if (!el.contains(event.target)) setOpen(false); };
  document.addEventListener("click", closeOutside);

  model.on("msg:custom", (message, buffers) => {
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
  });

  el.append(button, menu, status);
  return () => document.removeEventListener("click", closeOutside);
}

export default { render };
