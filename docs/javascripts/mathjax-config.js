// MathJax 3 typesets the math that pymdownx.arithmatex (generic mode) leaves in the pages:
// \(...\) inline and \[...\] displayed, inside elements of class "arithmatex"; nothing else.
// The script itself, tex-svg-full.js, comes from the django-static-mathjax package (mkdocs_hooks.py
// copies it into the site): it holds every TeX extension and draws glyphs as SVG paths, so it needs
// no font file. Everything that would load a file the site does not ship is turned off: \require,
// the automatic loading of extensions, and the menu (its accessibility parts load on demand).
window.MathJax = {
  loader: { load: [] },
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    // Without noerrors and noundefined, a TeX error shows as an error box (mjx-merror), which the
    // browser test of the site looks for, rather than as the TeX source or a red macro name.
    packages: { "[-]": ["require", "autoload", "noerrors", "noundefined"] },
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
    enableMenu: false,
  },
  startup: {
    typeset: false, // each page is typeset when mkdocs-material's document$ emits it
    ready() {
      MathJax.startup.defaultReady();
      document$.subscribe(() => {
        MathJax.startup.promise = MathJax.startup.promise.then(() => {
          MathJax.typesetClear();
          MathJax.texReset();
          return MathJax.typesetPromise();
        });
      });
    },
  },
};
