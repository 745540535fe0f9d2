// The dashboard's page editor and destructive actions, enhanced. Everything works without this
// script: the editor shows spare rows, destructive actions answer with a confirmation page.
(function () {
  "use strict";

  function rowsOf(container) {
    return Array.prototype.filter.call(container.children, function (el) { return el.hasAttribute("data-row"); });
  }

  // A fresh copy of a container's first row: empty values, names renumbered to ``n``.
  function freshRow(container, n) {
    var row = rowsOf(container)[0].cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) {
      input.name = input.name.replace(/_\d+$/, "_" + n);
      if (input.type === "checkbox") { input.checked = false; } else { input.value = ""; }
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
    row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    return row;
  }

  // Questions are stored in the order of their numbers: number them as they stand.
  function renumber(container) {
    var prefix = container.getAttribute("data-renumber");
    if (!prefix) { return; }
    rowsOf(container).forEach(function (row, i) {
      row.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/_\d+$/, "_" + i);
      });
    });
    container.setAttribute("data-next", String(rowsOf(container).length));
  }

  function addRow(container) {
    var n = parseInt(container.getAttribute("data-next") || "0", 10);
    var row = freshRow(container, n);
    var rows = rowsOf(container);
    rows[rows.length - 1].after(row);
    container.setAttribute("data-next", String(n + 1));
    renumber(container);
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  }

  function removeRow(row) {
    var container = row.parentElement;
    if (rowsOf(container).length > 1) {
      row.remove();
    } else {
      row.querySelectorAll("input").forEach(function (input) {
        if (input.type === "checkbox") { input.checked = false; } else { input.value = ""; }
      });
    }
    renumber(container);
  }

  function moveRow(row, up) {
    var container = row.parentElement;
    var rows = rowsOf(container);
    var i = rows.indexOf(row);
    if (up && i > 0) { rows[i - 1].before(row); }
    if (!up && i < rows.length - 1) { rows[i + 1].after(row); }
    renumber(container);
    var again = row.querySelector(up ? "[data-up]" : "[data-down]");
    if (again) { again.focus(); }
  }

  function isEmpty(row) {
    return Array.prototype.every.call(row.querySelectorAll("input"), function (input) {
      return input.type === "checkbox" ? !input.checked : input.value === "";
    });
  }

  function setUpEditor(form) {
    // The spare empty rows are for browsers without this script: "Add" buttons replace them.
    form.querySelectorAll("[data-rows]").forEach(function (container) {
      rowsOf(container).forEach(function (row) {
        if (isEmpty(row) && rowsOf(container).length > 1) { row.remove(); }
      });
    });
    form.querySelectorAll("[data-add], [data-remove], .row-tools, [data-add-to]").forEach(function (el) {
      el.hidden = false;
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !form.contains(button)) { return; }
      var row = button.closest("[data-row]");
      if (button.hasAttribute("data-add")) { addRow(button.closest("[data-rows]")); }
      else if (button.hasAttribute("data-add-to")) { addRow(document.getElementById(button.getAttribute("data-add-to"))); }
      else if (button.hasAttribute("data-remove") && row) { removeRow(row); }
      else if (button.hasAttribute("data-up") && row) { moveRow(row, true); }
      else if (button.hasAttribute("data-down") && row) { moveRow(row, false); }
      else { return; }
      event.preventDefault();
    });
    // A day that is off hides its hours.
    form.querySelectorAll("[data-day-switch]").forEach(function (box) {
      var ranges = box.closest("[data-day]").querySelector("[data-rows]");
      var show = function () { ranges.hidden = !box.checked; };
      box.addEventListener("change", show);
      show();
    });
    // The location's value field shows when the kind needs one; warnings follow the kind.
    var kind = form.querySelector("[data-location]");
    var valueField = form.querySelector("[data-location-value]");
    if (kind && valueField) {
      var label = valueField.querySelector("label");
      var labels = { link: "Video link (https://…)", phone: "Your phone number", in_person: "The address" };
      var follow = function () {
        valueField.hidden = !(kind.value in labels);
        if (kind.value in labels) { label.textContent = labels[kind.value]; }
        // The server says whether each warning applies (the default calendar's provider).
        form.querySelectorAll("[data-warn-for]").forEach(function (warn) {
          warn.hidden = !(warn.getAttribute("data-warn-for") === kind.value && warn.getAttribute("data-applies") === "yes");
        });
      };
      kind.addEventListener("change", follow);
      follow();
    }
  }

  // Destructive actions: a dialog on top of the server's own confirmation step.
  function setUpConfirm(form) {
    form.addEventListener("submit", function (event) {
      if (form.querySelector("input[name=confirm]") || typeof HTMLDialogElement !== "function") { return; }
      event.preventDefault();
      var dialog = document.createElement("dialog");
      dialog.className = "confirm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
      var text = document.createElement("p");
      text.id = "confirm-dialog-text";
      text.textContent = form.getAttribute("data-confirm");
      var actions = document.createElement("div");
      actions.className = "actions";
      var yes = document.createElement("button");
      yes.type = "button";
      yes.className = "danger";
      yes.textContent = form.getAttribute("data-confirm-button") || "Yes";
      var no = document.createElement("button");
      no.type = "button";
      no.className = "secondary";
      no.textContent = "Cancel";
      actions.append(yes, no);
      dialog.append(text, actions);
      document.body.append(dialog);
      no.addEventListener("click", function () { dialog.close(); });
      dialog.addEventListener("close", function () { dialog.remove(); });
      yes.addEventListener("click", function () {
        var confirm = document.createElement("input");
        confirm.type = "hidden";
        confirm.name = "confirm";
        confirm.value = "yes";
        form.append(confirm);
        form.submit();
      });
      dialog.showModal();
      no.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var editor = document.getElementById("page-editor");
    if (editor) { setUpEditor(editor); }
    document.querySelectorAll("form[data-confirm]").forEach(setUpConfirm);
  });
})();
