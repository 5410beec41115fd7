// Copy buttons: <button data-copy="ID"> copies the value (or the text) of
// the element with that id to the clipboard and says so on the button.
document.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-copy]");
  if (!button) return;
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  ev.preventDefault();
  const text = "value" in target ? target.value : target.textContent;
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (e) {
    // No clipboard here (an insecure origin): select it and try the old way.
    if (target.select) {
      target.select();
      try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
    }
  }
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  button.textContent = ok ? "Copied" : "Press Ctrl+C to copy";
  button.classList.toggle("copied", ok);
  setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
});
