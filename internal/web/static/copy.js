// Copy buttons: <button data-copy="ID"> copies the value (or text) of the
// element with that id to the clipboard and says so on the button.
document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-copy]");
  if (!b) return;
  e.preventDefault();
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (!el) return;
  var text = "value" in el ? el.value : el.textContent;
  var done = function () {
    var was = b.textContent;
    b.textContent = "Copied";
    setTimeout(function () { b.textContent = was; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { el.select && el.select(); });
  } else if (el.select) {
    el.select();
    try { document.execCommand("copy"); done(); } catch (err) { /* selected: the person copies it */ }
  }
});
