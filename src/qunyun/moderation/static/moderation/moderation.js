/* Review queue keys: j/k move, c confirm, d confirm without penalty, o overturn, Enter opens. */
(function () {
  "use strict";
  var list = document.querySelector("[data-mod-queue]");
  if (!list) { return; }
  var items = Array.prototype.slice.call(list.querySelectorAll(".mod-item"));
  var index = 0;
  function select(i) {
    if (!items.length) { return; }
    index = Math.max(0, Math.min(items.length - 1, i));
    items.forEach(function (el, n) { el.classList.toggle("selected", n === index); });
    items[index].focus({ preventScroll: true });
    items[index].scrollIntoView({ block: "nearest" });
  }
  items.forEach(function (el, n) { el.addEventListener("click", function () { select(n); }); });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") { return; }
    var item = items[index];
    if (e.key === "j") { select(index + 1); e.preventDefault(); }
    else if (e.key === "k") { select(index - 1); e.preventDefault(); }
    else if (e.key === "Enter" && item) { item.querySelector("[data-open]").click(); e.preventDefault(); }
    else if (item) {
      var button = item.querySelector('button[data-key="' + e.key + '"]');
      if (button) { e.preventDefault(); button.click(); }
    }
  });
  select(0);
})();
