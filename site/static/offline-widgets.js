/*
 * Offline widgets: lets the widget state that myst-nb embeds in a page render from files
 * served by this site, with no CDN and no kernel.
 *
 * Loaded on pages with widgets (nb_ipywidgets_js in _config.yml), after require.js and
 * before @jupyter-widgets/html-manager's embed-amd.js. It does two things:
 *
 * (a) Points ipywidgets at the local copy of html-manager, `_static/vendor/@jupyter-widgets/
 *     html-manager/dist/` (copied from node_modules by site/copy_assets.py), which holds
 *     embed-amd.js and the Font Awesome fonts that its CSS refers to:
 *     - the html-manager part of the bundle looks for its fonts in
 *       `window.__jupyter_widgets_assets_path__`;
 *     - the base and controls parts look for them next to their own require.js module URL,
 *       which by default is relative to the page (chapters/@jupyter-widgets/..., a 404), so
 *       require.js maps every `@jupyter-widgets/*` module into the same folder;
 *     - the "CDN" html-manager would fall back to for a module it does not bundle is this
 *       site too, so a missing module is a local 404, not a request to the internet.
 *
 * (b) ipywidgets 8 typesets widget labels through the MathJax 2 API,
 *     `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`, but the book loads MathJax 3,
 *     which has no `Hub`: every labelled widget would throw. We give whatever object ends up
 *     in `window.MathJax` a small `Hub` whose `Queue` calls MathJax 3's `typesetPromise`.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var staticRoot = script.src.replace(/[^/]*$/, ""); // .../_static/
  var dist = staticRoot + "vendor/@jupyter-widgets/html-manager/dist";

  // (a) Local assets and module paths.
  window.__jupyter_widgets_assets_path__ = dist + "/";
  script.setAttribute("data-jupyter-widgets-cdn", staticRoot + "vendor/");
  window.requirejs.config({
    paths: {
      "@jupyter-widgets": dist, // @jupyter-widgets/base -> dist/base.js, and so on
      "@jupyter-widgets/html-manager/dist": dist,
    },
  });

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
})();
