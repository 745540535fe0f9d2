// Progressive enhancement of scheduling and manage pages (they work without it):
// - the visitor's zone is detected once, when the address names none;
// - length and language apply at once (the "Show times" button is for pages without scripts);
// - switching zone or clock re-renders the selected day's times here, from the month's slot
//   starts the page embeds (#slot-data, UTC ISO), with no round trip.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.getElementById("options");
  var field = document.getElementById("tz");
  var dataNode = document.getElementById("slot-data");
  var data = null;
  try { data = dataNode ? JSON.parse(dataNode.textContent) : null; } catch (e) { data = null; }

  function validZone(zone) {
    try { new Intl.DateTimeFormat("en", { timeZone: zone }); return true; } catch (e) { return false; }
  }

  if (field && window.location.search.indexOf("tz=") === -1) {
    try {
      var detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (detected && detected !== field.value) {
        var url = new URL(window.location.href);
        url.searchParams.set("tz", detected);
        window.location.replace(url.toString());
        return;
      }
    } catch (e) { /* keep the zone the page shows */ }
  }

  if (form) {
    Array.prototype.forEach.call(form.querySelectorAll("select.auto"), function (select) {
      select.addEventListener("change", function () { form.submit(); });
    });
  }

  var clock = data ? data.clock : "24";

  function localDate(date, zone) {
    var parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(date);
    var get = function (type) { return parts.filter(function (p) { return p.type === type; })[0].value; };
    return get("year") + "-" + get("month") + "-" + get("day");
  }

  function zoneLabel(zone) {
    var option = document.querySelector('#zones option[value="' + zone.replace(/"/g, "") + '"]');
    return option ? option.getAttribute("label") : zone;
  }

  function setParam(href, key, value) {
    var url = new URL(href, window.location.href);
    url.searchParams.set(key, value);
    return url.pathname + url.search + url.hash;
  }

  function render(zone) {
    if (!data || !data.day) return;
    var list = document.getElementById("slot-list");
    if (!list) return;
    var format = new Intl.DateTimeFormat(data.locale, { timeZone: zone, hour: "numeric", minute: "2-digit", hour12: clock === "12" });
    var items = list.querySelectorAll("li");
    var template = items.length ? items[0] : null;
    if (!template) return;
    var starts = data.starts.filter(function (s) { return localDate(new Date(s), zone) === data.day; });
    list.textContent = "";
    starts.forEach(function (start) {
      var item = template.cloneNode(true);
      var link = item.querySelector("a");
      var radio = item.querySelector("input[type=radio]");
      var label = item.querySelector(".slot-time");
      label.textContent = format.format(new Date(start));
      if (link) {
        link.classList.remove("chosen");
        link.removeAttribute("aria-current");
        link.setAttribute("href", setParam(setParam(link.getAttribute("href"), "start", start), "tz", zone));
      }
      if (radio) { radio.value = start; radio.checked = false; }
      list.appendChild(item);
    });
    var shown = document.getElementById("zone-shown");
    if (shown && shown.dataset.template) shown.textContent = shown.dataset.template.replace("{zone}", zoneLabel(zone));
    Array.prototype.forEach.call(document.querySelectorAll("a.day, a.month-nav, .clock a"), function (a) {
      a.setAttribute("href", setParam(a.getAttribute("href"), "tz", zone));
    });
    Array.prototype.forEach.call(document.querySelectorAll(".clock a"), function (a) {
      if (a.dataset.clock === clock) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
    });
    var url = new URL(window.location.href);
    url.searchParams.set("tz", zone);
    url.searchParams.set("clock", clock);
    window.history.replaceState(null, "", url.toString());
  }

  var current = field ? field.value : null;
  if (field) {
    field.addEventListener("change", function () {
      var zone = field.value.trim();
      if (!zone || zone === current) return;
      if (!validZone(zone) || !document.querySelector('#zones option[value="' + zone.replace(/"/g, "") + '"]')) {
        form.submit();  // the server says what is wrong with it
        return;
      }
      current = zone;
      Array.prototype.forEach.call(document.querySelectorAll('input[type=hidden][name=tz]'), function (h) { h.value = zone; });
      render(zone);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll(".clock a"), function (a) {
    a.addEventListener("click", function (event) {
      if (!data || !current) return;
      event.preventDefault();
      clock = a.dataset.clock;
      render(current);
    });
  });
})();
