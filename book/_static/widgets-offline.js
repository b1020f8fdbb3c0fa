// Make the widgets on this site render offline and without errors.
//
// 1. The widget manager (embed-amd.js) loads its fonts and code chunks relative
//    to the path RequireJS gives each of its modules. Point every one of those
//    paths at the copy this site serves itself, so no CDN is needed. The
//    modules embed-amd.js defines by name (base, controls, ...) need a path
//    too: without one RequireJS places them beside the page, and whichever of
//    them styles the icons first sends the font requests there (a 404 that
//    only shows up when the page loads slowly).
const vendor = (document.documentElement.dataset.content_root || "") + "_static/vendor/html-manager";
require.config({
  paths: {
    "@jupyter-widgets/html-manager/dist": vendor,
    "@jupyter-widgets/html-manager": `${vendor}/html-manager`,
    "@jupyter-widgets/base": `${vendor}/base`,
    "@jupyter-widgets/base7": `${vendor}/base7`,
    "@jupyter-widgets/controls": `${vendor}/controls`,
    "@jupyter-widgets/controls7": `${vendor}/controls7`,
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
