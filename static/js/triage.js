// Copy buttons: <button data-copy="text">. Falls back to a hidden textarea when the
// clipboard API is unavailable (plain-HTTP hosts other than localhost).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  var field = document.createElement("textarea");
  field.value = text;
  document.body.appendChild(field);
  field.select();
  document.execCommand("copy");
  document.body.removeChild(field);
  done();
});

// Rerun forms: one request key per deliberate click. A double click (or a retry within two
// seconds) repeats the key, so the server stores one rerun; a later click is a new request.
function requestKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}
document.addEventListener("htmx:configRequest", function (event) {
  var form = event.detail.elt.closest && event.detail.elt.closest("form[data-request-key]");
  if (!form) return;
  if (!form.dataset.pendingKey) form.dataset.pendingKey = requestKey();
  event.detail.parameters.key = form.dataset.pendingKey;
});
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.detail.elt.closest && event.detail.elt.closest("form[data-request-key]");
  if (!form) return;
  setTimeout(function () { delete form.dataset.pendingKey; }, 2000);
});

// Live lists poll only while someone can see them (a filter in hx-trigger would need eval,
// which the Content-Security-Policy forbids).
document.addEventListener("htmx:beforeRequest", function (event) {
  if (event.detail.elt.hasAttribute("data-poll-when-visible") && document.hidden) {
    event.preventDefault();
  }
});

// Times are written in UTC; each reader sees them in their own zone, named, with the exact
// instant (and UTC) on hover.
function localTimes(root) {
  var zone;
  try {
    zone = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(new Date()).filter(function (part) { return part.type === "timeZoneName"; })[0];
  } catch (error) { return; }
  root.querySelectorAll("time.moment[datetime]").forEach(function (element) {
    var instant = new Date(element.getAttribute("datetime"));
    if (isNaN(instant)) return;
    var pad = function (n) { return String(n).padStart(2, "0"); };
    var shown = instant.getFullYear() + "-" + pad(instant.getMonth() + 1) + "-" + pad(instant.getDate()) +
      " " + pad(instant.getHours()) + ":" + pad(instant.getMinutes());
    var name = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(instant).filter(function (part) { return part.type === "timeZoneName"; })[0];
    element.textContent = shown + " " + (name ? name.value : zone ? zone.value : "");
    element.title = instant.toString() + " · " + element.getAttribute("datetime");
  });
}
document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
// After any swap (outerHTML replaces the target, out-of-band swaps fire their own event), the
// whole page is cheap to go over again.
document.addEventListener("htmx:afterSwap", function () { localTimes(document); });
document.addEventListener("htmx:oobAfterSwap", function () { localTimes(document); });

// Dispatcher settings: only the chosen kind's fields show (without script, all of them do).
function showKindFields(select) {
  var form = select.form;
  form.querySelectorAll("[data-for-kind]").forEach(function (field) {
    var holder = field.closest("div") || field;
    holder.hidden = field.getAttribute("data-for-kind") !== select.value;
  });
}
document.addEventListener("change", function (event) {
  if (event.target.matches && event.target.matches("select[name=kind]")) showKindFields(event.target);
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[name=kind]").forEach(showKindFields);
});

// A header checkbox selects every row's checkbox of its table (bulk actions on a whole page,
// e.g. everything sharing one failure reason).
document.addEventListener("change", function (event) {
  var all = event.target.closest && event.target.closest("input[data-select-all]");
  if (!all) return;
  var name = all.getAttribute("data-select-all");
  all.closest("table").querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(
    function (box) { box.checked = all.checked; });
});
