// Glue between ipywidgets' html-manager (embed.js) and the Jupyter Book 1 theme, loaded just before embed.js
// on pages with widgets (nb_ipywidgets_js in _config.yml). Both fixes were found by book/check_browser.py.

// 1. The theme's Font Awesome script replaces every <i class="fa ..."> by an <svg>, also those that widgets
//    create later (it watches the DOM). The Play widget then looks up its <i> icon to swap play/pause and
//    throws "Cannot set properties of undefined (setting 'className')". With observeMutations off, Font
//    Awesome still converts the theme's own icons (in the page from the start) but leaves the widgets'
//    icons, created on "load", to the Font Awesome CSS that embed.js brings along. This runs before the
//    theme's deferred fontawesome.js, which reads this global when it starts.
window.FontAwesomeConfig = Object.assign({}, window.FontAwesomeConfig, { observeMutations: false });

// 2. embed.js typesets widget text through the MathJax 2 API, MathJax.Hub.Queue(["Typeset", MathJax.Hub,
//    element]); the book loads MathJax 3, which has no Hub, so every widget view would throw "Cannot read
//    properties of undefined (reading 'Queue')". Map the call onto MathJax 3 on "load", before embed.js
//    (whose own "load" handler is registered after this one) renders the widgets.
window.addEventListener("load", function () {
  var mathjax = window.MathJax;
  if (!mathjax || mathjax.Hub) {
    return;
  }
  mathjax.Hub = {
    Queue: function (command) {
      var element = command && command[2];
      if (!element || !mathjax.startup || !mathjax.startup.promise) {
        return;
      }
      mathjax.startup.promise
        .then(function () { return mathjax.typesetPromise([element]); })
        .catch(function (error) { console.error("MathJax could not typeset a widget:", error); });
    },
  };
});
