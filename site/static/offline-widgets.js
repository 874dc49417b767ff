/*
 * The site's loader script for widgets and figures: the slider state that myst-nb embeds in
 * a page renders from files served by this site, with no CDN and no kernel, and every
 * reader can use it.
 *
 * Loaded with `defer` on pages with widgets (nb_ipywidgets_js in _config.yml), before
 * @jupyter-widgets/html-manager's embed.js, which draws the widgets at the `load` event.
 * It does five things (site/static/book.js does the rest, on every page):
 *
 * (a) Points the widget bundle at its fonts in `_static/vendor/@jupyter-widgets/
 *     html-manager/dist/` (copied from node_modules by site/copy_assets.py), through
 *     `window.__jupyter_widgets_assets_path__`.
 *
 * (b) ipywidgets 8 typesets widget labels through the MathJax 2 API,
 *     `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`, but the book loads MathJax 3,
 *     which has no `Hub`: every labelled widget would throw. Whatever object ends up in
 *     `window.MathJax` gets a small `Hub` whose `Queue` calls MathJax 3's `typesetPromise`.
 *
 * (c) Accessible sliders (nnscratch.widgets.frame_slider), from the embedded widget state:
 *     the handle is named by the slider's label (`aria-label`) and announces the option's
 *     label, "p = 0.50" (`aria-valuetext`), instead of the option's index; the frame shown
 *     gets its alt text (the `Stack`'s `titles`); the readout cannot be edited (typing into
 *     it would show a value the picture does not).
 *
 * (d) No layout shift: site/book_pages.py puts a placeholder of the slider's height where
 *     each widget will appear; once a widget is complete, it replaces its placeholder in one
 *     step (until then, site/static/book.css keeps the widget out of the flow). When every
 *     slider of the page is drawn with its frame, a performance mark
 *     "nnscratch:sliders-usable" records the time (the site benchmark reads it).
 *
 * (e) A slider change is announced (WCAG 4.1.3): each slider gets a polite live region
 *     (role "status") whose text becomes the new frame's alt text once the slider rests.
 *
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var staticRoot = script.src.replace(/[^/]*$/, ""); // .../_static/

  // (a) Where the widget bundle finds its fonts.
  window.__jupyter_widgets_assets_path__ = staticRoot + "vendor/@jupyter-widgets/html-manager/dist/";

  // (b) MathJax 2's Hub.Queue on top of MathJax 3.
  function typeset(elements) {
    var mathjax = window.MathJax;
    if (!mathjax || !mathjax.startup || !mathjax.startup.promise) {
      return; // MathJax 3 is not on this page (or not loaded yet): the label stays as text.
    }
    mathjax.startup.promise
      .then(function () {
        return mathjax.typesetPromise(elements);
      })
      .catch(function (error) {
        console.error("MathJax could not typeset a widget label", error);
      });
  }

  var hub = {
    Queue: function () {
      // Each argument is a MathJax 2 job: ["Typeset", MathJax.Hub, element] or a function.
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset") {
          typeset(job[2] ? [job[2]] : undefined);
        } else if (typeof job === "function") {
          job();
        }
      });
    },
  };

  function addHub(mathjax) {
    if (mathjax && typeof mathjax === "object" && !mathjax.Hub) {
      Object.defineProperty(mathjax, "Hub", { value: hub, configurable: true });
    }
  }

  // Sphinx's configuration and MathJax 3 itself each assign a new `window.MathJax`, in an
  // order that depends on the page, so add the Hub to every object assigned there.
  var current = window.MathJax;
  addHub(current);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () {
      return current;
    },
    set: function (value) {
      current = value;
      addHub(value);
    },
  });

  // (c) and (d) Sliders, from the widget state.
  var SLIDER_CLASS = "nnscratch-slider"; // nnscratch.widgets.SLIDER_CLASS
  var STATE = 'script[type="application/vnd.jupyter.widget-state+json"]';
  var VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';

  function readState() {
    var models = {};
    document.querySelectorAll(STATE).forEach(function (tag) {
      try {
        Object.assign(models, JSON.parse(tag.textContent).state);
      } catch (error) {
        console.error("unreadable widget state", error);
      }
    });
    return models;
  }

  function childIds(models, model) {
    return (model.state.children || [])
      .map(function (ref) {
        return String(ref).replace(/^IPY_MODEL_/, "");
      })
      .filter(function (id) {
        return id in models;
      });
  }

  // The book's sliders under one view, in drawing order: what the page must say about them.
  function slidersOf(models, modelId) {
    var found = [];
    (function visit(id) {
      var model = models[id];
      if (!model) {
        return;
      }
      if ((model.state._dom_classes || []).indexOf(SLIDER_CLASS) >= 0) {
        var parts = childIds(models, model);
        var slider = models[parts[0]].state;
        var stack = models[parts[1]].state;
        found.push({
          label: String(slider.description || "").replace(/\\\(|\\\)/g, ""),
          options: slider._options_labels || [],
          alts: stack.titles || [],
        });
        return;
      }
      childIds(models, model).forEach(visit);
    })(modelId);
    return found;
  }

  function setAttribute(element, name, value) {
    if (element && element.getAttribute(name) !== value) {
      element.setAttribute(name, value); // only on change: the observers see their own writes
    }
  }

  // Name, spoken value, alt text, read-only readout for one drawn slider; returns its frame
  // once that is in place with its declared size (null before).
  function describe(element, slider) {
    var handle = element.querySelector(".noUi-handle");
    if (!handle) {
      return null;
    }
    var index = Math.round(parseFloat(handle.getAttribute("aria-valuenow")));
    setAttribute(handle, "aria-label", slider.label);
    if (slider.options[index] !== undefined) {
      setAttribute(handle, "aria-valuetext", slider.options[index]);
    }
    var label = element.querySelector(".widget-label");
    if (label && label.getAttribute("title") === "null") {
      label.removeAttribute("title"); // ipywidgets writes the missing tooltip as "null"
    }
    var readout = element.querySelector(".widget-readout");
    if (readout) {
      setAttribute(readout, "contenteditable", "false");
    }
    var image = element.querySelector("img");
    if (image && slider.alts[index] !== undefined) {
      setAttribute(image, "alt", slider.alts[index]);
    }
    announce(element, index, slider.alts[index]);
    return image && image.hasAttribute("width") ? image : null;
  }

  // (e) A polite live region per slider, after its picture, says the new frame's description
  // once the slider rests (ANNOUNCE_MS after the last change, so a drag announces only the
  // frame where it stops); empty until the reader moves the slider.
  var ANNOUNCE_MS = 500;
  var announced = new WeakMap(); // slider element -> {region, index, timer}

  function announce(element, index, text) {
    var state = announced.get(element);
    if (!state) {
      var region = document.createElement("div");
      region.className = "nnscratch-announce";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      region.setAttribute("aria-atomic", "true");
      // Visually hidden, still read: a screen reader's copy of what the picture now shows.
      region.style.cssText =
        "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;" +
        "clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap;border:0";
      element.appendChild(region);
      announced.set(element, { region: region, index: index, timer: null });
      return;
    }
    if (index === state.index || text === undefined) {
      return;
    }
    state.index = index;
    clearTimeout(state.timer);
    state.timer = setTimeout(function () {
      state.region.textContent = text;
    }, ANNOUNCE_MS);
  }

  // (d) Every view once drawn, and once its frames have loaded: then all sliders are usable.
  var views = { total: 0, usable: 0 };

  function whenLoaded(images, done) {
    var waiting = images.filter(function (image) {
      return !(image.complete && image.naturalWidth);
    });
    if (!waiting.length) {
      done();
      return;
    }
    Promise.all(
      waiting.map(function (image) {
        return image.decode().catch(function () {});
      })
    ).then(done);
  }

  function watchView(tag, sliders) {
    var parent = tag.parentNode;
    function update() {
      var area = tag.previousElementSibling;
      if (!area || !area.classList.contains("widget-subarea")) {
        return;
      }
      var elements = area.querySelectorAll("." + SLIDER_CLASS);
      var images = [];
      elements.forEach(function (element, i) {
        var image = describe(element, sliders[i] || sliders[0]);
        if (image) {
          images.push(image);
        }
      });
      var complete = elements.length === sliders.length && images.length === sliders.length;
      if (complete && !area.classList.contains("nnscratch-ready")) {
        // (d) The widget and its placeholder have the same height: swap them in one step.
        var reserves = area.previousElementSibling;
        area.classList.add("nnscratch-ready");
        if (reserves && reserves.classList.contains("nnscratch-reserves")) {
          reserves.remove();
        }
        whenLoaded(images, function () {
          views.usable += 1;
          if (views.usable === views.total && window.performance && performance.mark) {
            performance.mark("nnscratch:sliders-usable"); // read by the site benchmark
          }
        });
      }
    }
    new MutationObserver(update).observe(parent, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["aria-valuenow", "aria-valuetext", "contenteditable", "alt"],
    });
    update();
  }

  function start() {
    var models = readState();
    document.querySelectorAll(VIEW).forEach(function (tag) {
      var id;
      try {
        id = JSON.parse(tag.textContent).model_id;
      } catch (error) {
        return;
      }
      var sliders = slidersOf(models, id);
      if (sliders.length) {
        views.total += 1;
        watchView(tag, sliders);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
