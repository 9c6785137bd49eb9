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
// HYPE-time: a figure with data-exposure-ms shows its image for that long,
// counted in animation frames, then a noise mask. The displayed time is
// measured with requestAnimationFrame timestamps, from the frame that showed
// the image to the frame that showed the mask, and sent with the vote
// (input#displayed_ms). The answer buttons wait for the mask.
(function () {
  var figure = document.querySelector("[data-exposure-ms]");
  if (!figure) return;
  var requested = Number(figure.getAttribute("data-exposure-ms"));
  var img = figure.querySelector("img");
  var mask = figure.querySelector("canvas");
  var output = document.getElementById("displayed_ms");
  var buttons = document.querySelectorAll(".answers button");
  figure.classList.add("waiting");
  for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
  function paintMask() {
    var context = mask.getContext("2d");
    var noise = context.createImageData(mask.width, mask.height);
    for (var j = 0; j < noise.data.length; j += 4) {
      var grey = Math.floor(Math.random() * 256);
      noise.data[j] = noise.data[j + 1] = noise.data[j + 2] = grey;
      noise.data[j + 3] = 255;
    }
    context.putImageData(noise, 0, 0);
  }
  function expose() {
    paintMask();
    requestAnimationFrame(function (before) {
      figure.classList.remove("waiting");  // on screen from the next frame
      requestAnimationFrame(function (shown) {
        var previous = shown, frame = shown - before;
        function tick(now) {
          frame = 0.8 * frame + 0.2 * (now - previous);  // the display's frame interval
          previous = now;
          // the mask set now appears on the next frame, about one frame from now
          if (now + frame - shown >= requested - frame / 2) {
            figure.classList.add("masked");
            requestAnimationFrame(function (hidden) {
              output.value = (hidden - shown).toFixed(1);
              figure.setAttribute("data-displayed-ms", output.value);
              for (var k = 0; k < buttons.length; k++) buttons[k].disabled = false;
            });
          } else {
            requestAnimationFrame(tick);
          }
        }
        requestAnimationFrame(tick);
      });
    });
  }
  function refused() {  // served once only (a reload): answer to go on; the vote will not count
    figure.classList.remove("waiting");
    figure.classList.add("masked");
    paintMask();
    document.getElementById("shown-once").hidden = false;
    for (var k = 0; k < buttons.length; k++) buttons[k].disabled = false;
  }
  if (img.complete && img.naturalWidth) {
    img.decode().then(expose, expose);
  } else if (img.complete) {
    refused();
  } else {
    img.addEventListener("load", function () { img.decode().then(expose, expose); });
    img.addEventListener("error", refused);
  }
})();
// The start page: an invitation link carries its code after "#", which browsers never send to
// a server (so no log holds it); fill it in, and take it out of the address bar.
(function () {
  var input = document.getElementById("code");
  var match = /(?:^#|&)code=([A-Za-z0-9_-]{43})/.exec(window.location.hash);
  if (!input || !match) return;
  if (!input.value) input.value = match[1];
  if (window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();
