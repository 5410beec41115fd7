// Copy buttons: a button with data-copy="<selector>" copies the value (or
// text) of that element to the clipboard and says so.
document.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-copy]");
  if (!button) return;
  const target = document.querySelector(button.dataset.copy);
  if (!target) return;
  const text = "value" in target ? target.value : target.textContent;
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (e) {
    // No clipboard API (an insecure origin): select and copy.
    if (target.select) {
      target.select();
      ok = document.execCommand("copy");
    }
  }
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  button.textContent = ok ? "Copied" : "Press Ctrl+C to copy";
  button.classList.toggle("copied", ok);
  setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
});
