// Keyboard answers and double-submit guard for the human study's pages.
// Any element with data-keys="k1 k2 ..." is clicked when one of those keys is
// pressed; a form marked data-once is submitted at most once (the server also
// counts a repeated vote once, so this only spares a useless request).
// Auto-repeat is ignored: a key held down answers one image, not the next ones
// the browser loads while it is still down. Answer keys and the Next key differ.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
  if (event.target instanceof HTMLInputElement) return;
  var key = event.key === " " ? "Space" : event.key;
  var targets = document.querySelectorAll("[data-keys]");
  for (var i = 0; i < targets.length; i++) {
    if (targets[i].getAttribute("data-keys").split(" ").indexOf(key) >= 0) {
      event.preventDefault();
      targets[i].click();
      return;
    }
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute("data-once")) return;
  if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
  form.setAttribute("data-sent", "1");
  form.classList.add("sent");
});
