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

// 4. The widgets' sliders (noUiSlider) are keyboard-operable handles with
//    role="slider", but ipywidgets leaves them nameless: the description is a
//    <label> tied to nothing, so a screen reader says only "slider". Tie each
//    handle to its label (aria-labelledby), and make it announce what the
//    readout shows ("0.300", a SelectionSlider's option label) instead of
//    noUiSlider's raw number or option index. A label titled "null" (what
//    ipywidgets writes for a missing tooltip) loses that title.
let sliderLabels = 0;

function nameWidgetSliders(root) {
  root.querySelectorAll(".widget-slider").forEach((widget) => {
    const handle = widget.querySelector(".noUi-handle");
    const label = widget.querySelector(":scope > .widget-label");
    if (!handle || handle.dataset.lrbookNamed) return;
    handle.dataset.lrbookNamed = "1";
    if (label && label.title === "null") label.removeAttribute("title");
    if (label && label.textContent.trim()) {
      if (!label.id) label.id = `lrbook-slider-label-${++sliderLabels}`;
      handle.setAttribute("aria-labelledby", label.id);
    } else if (widget.title && widget.title !== "null") {
      handle.setAttribute("aria-label", widget.title);
    }
    const readout = widget.querySelector(".widget-readout");
    if (!readout) return;
    const mirror = () => {
      const shown = readout.textContent.trim();
      if (shown && handle.getAttribute("aria-valuetext") !== shown) {
        handle.setAttribute("aria-valuetext", shown);
      }
    };
    mirror();
    // noUiSlider rewrites aria-valuetext on every move, after or before the
    // readout changes: watch both and keep the readout's text.
    const watch = { characterData: true, childList: true, subtree: true };
    new MutationObserver(mirror).observe(readout, watch);
    new MutationObserver(mirror).observe(handle, {
      attributes: true,
      attributeFilter: ["aria-valuetext"],
    });
  });
}

function mendWidgets(root) {
  labelWidgetImages(root);
  nameWidgetSliders(root);
}

document.addEventListener("DOMContentLoaded", () => {
  mendWidgets(document);
  new MutationObserver(() => mendWidgets(document)).observe(document.body, {
    childList: true,
    subtree: true,
  });
});
