// Progressive enhancement: pick up the visitor's time zone once, when the page has none yet.
(function () {
  var field = document.getElementById("tz");
  if (!field || window.location.search.indexOf("tz=") !== -1) return;
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && zone !== field.value) {
      var url = new URL(window.location.href);
      url.searchParams.set("tz", zone);
      window.location.replace(url.toString());
    }
  } catch (e) { /* keep the host's zone */ }
})();
