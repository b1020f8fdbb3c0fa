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

// 3. An interactive figure is an ipywidgets Image that the widget manager
//    draws in the browser, with no alt text (the widget has no such field).
//    Name it after the section it sits in, as the build does for the static
//    figures without a caption (book/_ext/lrbook_site.py).
function sectionTitle(element) {
  const section = element.closest("section");
  const heading = section && section.querySelector("h1, h2, h3, h4, h5, h6");
  if (!heading) return "";
  const copy = heading.cloneNode(true);
  copy.querySelectorAll(".headerlink").forEach((link) => link.remove());
  return copy.textContent.replace(/\s+/g, " ").trim();
}

function labelWidgetImages(root) {
  root.querySelectorAll("img.widget-image:not([alt])").forEach((img) => {
    const title = sectionTitle(img);
    img.alt = title
      ? `Interactive figure in the section “${title}”; the controls next to it redraw it`
      : "Interactive figure; the controls next to it redraw it";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  labelWidgetImages(document);
  new MutationObserver(() => labelWidgetImages(document)).observe(document.body, {
    childList: true,
    subtree: true,
  });
});
