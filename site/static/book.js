/*
 * The book's script for every page (html_js_files in _config.yml, deferred). Two things
 * for narrow screens, where the theme fits everything to the column:
 *
 * (a) A figure shown smaller than it was drawn (a 640-pixel plot on a 343-pixel phone
 *     column shrinks its text to about half) opens at full size in a dialog when tapped,
 *     clicked, or activated with Enter or Space, and can be scrolled there; larger than
 *     full size if its smallest text (recorded in the PNG by nnscratch.plots.to_png) would
 *     still be under 8 px. Slider frames too: each new frame is checked when it loads.
 *
 * (b) A display equation or a table too wide for the column scrolls inside its own box
 *     (site/static/book.css); such a box takes the keyboard focus, so that it can be
 *     scrolled without a mouse (WCAG 2.1.1).
 */
(function () {
  "use strict";

  var FIGURES = ".bd-content figure img, .bd-content .cell_output img, .nnscratch-slider img";
  var WIDE = ".bd-content div.math, .bd-content .pst-scrollable-table-container";
  var dialog = null;

  function closeDialog() {
    dialog.close();
  }

  function makeDialog() {
    dialog = document.createElement("dialog");
    dialog.className = "nnscratch-zoom";
    dialog.setAttribute("aria-label", "Figure at full size");
    var bar = document.createElement("div");
    bar.className = "nnscratch-zoom-bar";
    var hint = document.createElement("span");
    hint.className = "nnscratch-zoom-hint";
    hint.textContent = "Full size: scroll sideways to see all of it.";
    bar.appendChild(hint);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "nnscratch-zoom-close";
    close.textContent = "Close";
    close.addEventListener("click", closeDialog);
    bar.appendChild(close);
    var box = document.createElement("div");
    box.className = "nnscratch-zoom-scroll";
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Figure at full size, scrollable");
    dialog.append(bar, box);
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        closeDialog(); // a tap on the backdrop
      }
    });
    document.body.appendChild(dialog);
  }

  // The smallest text of a picture drawn by nnscratch.plots.to_png, in pixels at its natural
  // size: a PNG text chunk MIN_TEXT_KEY, before the image data. null if not recorded.
  var MIN_TEXT_KEY = "nnscratch:min-text-px";

  function smallestText(bytes) {
    var view = new DataView(bytes);
    for (var at = 8; at + 8 <= bytes.byteLength; ) {
      var length = view.getUint32(at);
      var type = String.fromCharCode.apply(null, new Uint8Array(bytes, at + 4, 4));
      if (type === "tEXt") {
        var text = new TextDecoder("latin1").decode(new Uint8Array(bytes, at + 8, length));
        var parts = text.split("\0");
        if (parts[0] === MIN_TEXT_KEY) {
          var size = parseFloat(parts[1]);
          return isFinite(size) ? size : null;
        }
      }
      if (type === "IDAT" || type === "IEND") {
        break;
      }
      at += 12 + length;
    }
    return null;
  }

  // Full size, and larger if the picture's smallest text would still be under 8 px.
  var MIN_TEXT_PX = 8;

  function openFull(image) {
    if (!dialog) {
      makeDialog();
    }
    var src = image.currentSrc || image.src;
    var full = document.createElement("img");
    full.src = src;
    full.alt = image.alt;
    full.width = image.naturalWidth;
    full.height = image.naturalHeight;
    dialog.querySelector(".nnscratch-zoom-scroll").replaceChildren(full);
    dialog.showModal();
    dialog.querySelector("button").focus();
    fetch(src)
      .then(function (response) {
        return response.arrayBuffer();
      })
      .then(function (bytes) {
        var text = smallestText(bytes);
        if (text && text < MIN_TEXT_PX) {
          var scale = MIN_TEXT_PX / text;
          full.width = Math.ceil(image.naturalWidth * scale);
          full.height = Math.ceil(image.naturalHeight * scale);
        }
        full.dataset.ready = "true"; // sized: the browser tests measure it then
      })
      .catch(function () {
        full.dataset.ready = "true";
      });
  }

  function setZoomable(image) {
    if (!image.complete || !image.naturalWidth || image.closest("dialog")) {
      return;
    }
    var shrunk = image.clientWidth > 0 && image.naturalWidth > image.clientWidth + 1;
    if (shrunk === image.classList.contains("nnscratch-zoomable")) {
      return;
    }
    image.classList.toggle("nnscratch-zoomable", shrunk);
    if (shrunk) {
      image.tabIndex = 0;
      image.setAttribute("role", "button");
      image.setAttribute("aria-haspopup", "dialog");
    } else {
      image.removeAttribute("tabindex");
      image.removeAttribute("role");
      image.removeAttribute("aria-haspopup");
    }
  }

  function setScrollable(box) {
    var wide = box.scrollWidth > box.clientWidth + 1;
    if (wide) {
      box.tabIndex = 0;
    } else if (box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
    }
  }

  function checkAll() {
    document.querySelectorAll(FIGURES).forEach(setZoomable);
    document.querySelectorAll(WIDE).forEach(setScrollable);
  }

  // Every image load, slider frames included (load does not bubble: listen while capturing).
  document.addEventListener(
    "load",
    function (event) {
      if (event.target.tagName === "IMG" && event.target.matches(FIGURES)) {
        setZoomable(event.target);
      }
    },
    true
  );
  document.addEventListener("click", function (event) {
    var image = event.target.closest && event.target.closest("img.nnscratch-zoomable");
    if (image) {
      openFull(image);
    }
  });
  document.addEventListener("keydown", function (event) {
    var image = event.target.closest && event.target.closest("img.nnscratch-zoomable");
    if (image && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openFull(image);
    }
  });

  var pending = null;
  function checkSoon() {
    clearTimeout(pending);
    pending = setTimeout(checkAll, 100);
  }
  window.addEventListener("resize", checkSoon);
  window.addEventListener("load", function () {
    checkAll();
    // MathJax typesets after the load event on long pages: check the equations again then.
    var mathjax = window.MathJax;
    if (mathjax && mathjax.startup && mathjax.startup.promise) {
      mathjax.startup.promise.then(checkSoon);
    }
  });
})();
