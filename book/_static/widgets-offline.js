// Make the widgets on this site render offline and without errors.
//
// 1. The widget manager (embed-amd.js) loads its fonts and code chunks relative
//    to the module path RequireJS gives it. Point that path at the copy this
//    site serves itself, so no CDN is needed.
require.config({
  paths: {
    "@jupyter-widgets/html-manager/dist":
      (document.documentElement.dataset.content_root || "") + "_static/vendor/html-manager",
  },
});

// 2. ipywidgets typesets widget labels with MathJax 2's API (MathJax.Hub.Queue),
//    but the site loads MathJax 3. Once MathJax 3 is in place (deferred scripts
//    run before DOMContentLoaded), bridge that one call.
document.addEventListener("DOMContentLoaded", () => {
  const mathjax = window.MathJax;
  if (mathjax && !mathjax.Hub && typeof mathjax.typesetPromise === "function") {
    mathjax.Hub = {
      Queue: (command) => {
        const element = Array.isArray(command) ? command[2] : undefined;
        mathjax.typesetPromise(element ? [element] : undefined).catch(() => {});
      },
    };
  }
});
