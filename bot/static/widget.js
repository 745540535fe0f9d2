/* Slotbot website widget. Paste on any site:
 *   <script src="https://YOUR-SLOTBOT/widget.js?page=USER/PAGE" async></script>
 * (optional: data-lang="pt" on the tag, else the visitor's browser language).
 *
 * It adds a chat bubble inside a shadow root, so the site's styles and the widget's never touch.
 * Visitors ask to book ("can I book a meeting?", "quero marcar uma reunião", "kan jeg booke et
 * møde?"); answers come from POST /widget/messages (public, CORS, no cookies) as data blocks, shown
 * with textContent only. A "book" block opens the host's scheduling page inline, in an iframe; each
 * free time is a chip (a button named with its day and time, in the browser's zone, which every
 * message sends) that opens the page's form at that time. On a narrow screen the booking view
 * covers the whole viewport (Escape or the back button return to the chat).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src || !window.fetch || !document.documentElement.attachShadow) { return; }
  var source = new URL(script.src, window.location.href);
  var origin = source.origin;
  var page = source.searchParams.get("page") || script.getAttribute("data-page") || "";
  var language = source.searchParams.get("lang") || script.getAttribute("data-lang") ||
    navigator.language || "";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  var labels = {
    open: "Chat", close: "Close", message: "Your message", placeholder: "", send: "Send",
    back: "Back", booking: "Book a time", failed: "That did not go through. Please try again."
  };
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 480px)") : null;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function isWebAddress(url) {
    try {
      var parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:";
    } catch (e) { return false; }
  }

  function link(url, label, className) {
    var anchor = element("a", className, label);
    if (isWebAddress(url)) { anchor.href = url; }
    anchor.target = "_blank";
    anchor.rel = "noopener";
    return anchor;
  }

  // The widget's own tree, in a shadow root; hidden until its stylesheet is in.
  var host = element("div");
  host.setAttribute("data-slotbot-widget", page);
  var root = host.attachShadow({ mode: "open" });
  var sheet = element("link");
  sheet.rel = "stylesheet";
  sheet.href = origin + "/static/widget.css";
  var frame = element("div", "sb");
  frame.hidden = true;
  sheet.addEventListener("load", function () { frame.hidden = false; });
  root.appendChild(sheet);
  root.appendChild(frame);

  var bubble = element("button", "sb-bubble");
  bubble.type = "button";
  bubble.setAttribute("aria-expanded", "false");
  var bubbleLabel = element("span", "sb-bubble-label", labels.open);
  bubble.appendChild(element("span", "sb-bubble-icon"));
  bubble.appendChild(bubbleLabel);

  var panel = element("section", "sb-panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  var header = element("header", "sb-header");
  var title = element("h2", "sb-title", "");
  var close = element("button", "sb-close", "\u00d7");
  close.type = "button";
  header.appendChild(title);
  header.appendChild(close);

  var chat = element("div", "sb-chat");
  var log = element("ol", "sb-log");
  log.setAttribute("aria-live", "polite");
  var form = element("form", "sb-form");
  var input = element("input", "sb-input");
  input.name = "text";
  input.maxLength = 500;
  input.autocomplete = "off";
  var send = element("button", "sb-send", labels.send);
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  chat.appendChild(log);
  chat.appendChild(form);

  var booking = element("div", "sb-booking");
  booking.hidden = true;
  booking.setAttribute("role", "region");
  var back = element("button", "sb-back", labels.back);
  back.type = "button";
  var bookingFrame = null;
  booking.appendChild(back);

  panel.appendChild(header);
  panel.appendChild(chat);
  panel.appendChild(booking);
  frame.appendChild(panel);
  frame.appendChild(bubble);

  function applyLabels(next) {
    if (!next) { return; }
    Object.keys(next).forEach(function (key) { labels[key] = next[key]; });
    bubbleLabel.textContent = labels.open;
    bubble.setAttribute("aria-label", labels.open);
    close.setAttribute("aria-label", labels.close);
    input.placeholder = labels.placeholder;
    input.setAttribute("aria-label", labels.message);
    send.textContent = labels.send;
    back.textContent = labels.back;
    booking.setAttribute("aria-label", labels.booking);
    panel.setAttribute("aria-label", labels.open);
  }

  // The booking view: the page in a frame; full screen (a modal dialog) on a narrow viewport.
  var opener = null;
  function fitScreen() {
    var full = !booking.hidden && !!narrow && narrow.matches;
    frame.classList.toggle("sb-full", full);
    if (full) { panel.setAttribute("aria-modal", "true"); } else { panel.removeAttribute("aria-modal"); }
  }
  if (narrow) {
    if (narrow.addEventListener) { narrow.addEventListener("change", fitScreen); }
    else if (narrow.addListener) { narrow.addListener(fitScreen); }
  }

  function openBooking(block, from) {
    if (bookingFrame) { booking.removeChild(bookingFrame); }
    bookingFrame = element("iframe", "sb-frame");
    bookingFrame.title = block.label;
    bookingFrame.src = isWebAddress(block.embed) ? block.embed : "about:blank";
    booking.appendChild(bookingFrame);
    opener = from || null;
    chat.hidden = true;
    booking.hidden = false;
    frame.classList.add("sb-booking-open");
    fitScreen();
    back.focus();
  }

  function closeBooking() {
    booking.hidden = true;
    chat.hidden = false;
    frame.classList.remove("sb-booking-open");
    fitScreen();
    if (opener && opener.isConnected) { opener.focus(); } else { input.focus(); }
    opener = null;
  }

  // Full screen, focus stays in the widget: leaving it (Tab past the frame) comes back to "back".
  document.addEventListener("focusin", function (event) {
    if (frame.classList.contains("sb-full") && event.target !== host) { back.focus(); }
  });

  function appendParts(parent, parts) {
    parts.forEach(function (part) {
      if (part.link) { parent.appendChild(link(part.link, part.link)); }
      else { parent.appendChild(document.createTextNode(part.text || "")); }
    });
    return parent;
  }

  var days = 0;
  function renderBlock(block, into) {
    var node;
    if (block.type === "text") {
      node = appendParts(element("p"), block.parts);
    } else if (block.type === "section") {
      node = element("div", "sb-section");
      node.appendChild(element("strong", null, block.heading));
      var list = element("ul");
      block.lines.forEach(function (line) { list.appendChild(appendParts(element("li"), line)); });
      node.appendChild(list);
    } else if (block.type === "fields") {
      node = element("dl");
      block.pairs.forEach(function (pair) {
        node.appendChild(element("dt", null, pair[0]));
        node.appendChild(appendParts(element("dd"), pair[1]));
      });
    } else if (block.type === "chips") {
      node = element("div", "sb-times");
      var group = element("div", "sb-chips");
      group.setAttribute("role", "group");
      if (block.heading) {
        var day = element("p", "sb-day", block.heading);
        day.id = "sb-day-" + (++days);
        group.setAttribute("aria-labelledby", day.id);
        node.appendChild(day);
      }
      block.chips.forEach(function (chip) {
        var button = element("button", "sb-chip", chip.label);
        button.type = "button";
        button.setAttribute("aria-label", chip.name);
        button.setAttribute("data-start", chip.start);
        button.addEventListener("click", function () {
          openBooking({ label: chip.name, embed: chip.embed }, button);
        });
        group.appendChild(button);
      });
      node.appendChild(group);
    } else if (block.type === "book") {
      node = element("p", "sb-actions");
      var open = element("button", "sb-book", block.label);
      open.type = "button";
      open.addEventListener("click", function () { openBooking(block, open); });
      node.appendChild(open);
      node.appendChild(link(block.url, block.open, "sb-newtab"));
    } else if (block.type === "link") {
      node = element("p");
      node.appendChild(link(block.url, block.label, "sb-link"));
    } else {
      return;
    }
    into.appendChild(node);
  }

  function message(className, who) {
    var item = element("li", "sb-message " + className);
    if (who) { item.setAttribute("data-who", who); }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function show(item, data, ok) {
    item.className = "sb-message sb-bot" + (ok ? "" : " sb-problem");
    while (item.firstChild) { item.removeChild(item.firstChild); }
    if (data && data.reply) {
      item.setAttribute("lang", (data.locale || "en").replace("_", "-"));
      data.reply.blocks.forEach(function (block) {
        renderBlock(block, item);
        if (block.type === "chips") { item.classList.add("sb-wide"); }
      });
    } else {
      item.appendChild(element("p", null, (data && data.error) || labels.failed));
    }
    log.scrollTop = log.scrollHeight;
  }

  function ask(text) {
    if (text) { message("sb-you", "you").appendChild(element("p", null, text)); }
    var pending = message("sb-bot sb-pending");
    pending.appendChild(element("span", "sb-dots", "\u2026"));
    return fetch(origin + "/widget/messages", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ page: page, text: text, lang: language, tz: zone })
    }).then(function (response) {
      return response.json().then(function (data) {
        applyLabels(data.labels);
        if (data.title) { title.textContent = data.title; }
        if (response.status === 404 && window.console) {
          window.console.warn("Slotbot widget: " + data.error);
        }
        show(pending, data, response.ok);
      });
    }).catch(function () { show(pending, null, false); });
  }

  var started = false;
  function toggle(open) {
    if (!open && !booking.hidden) { closeBooking(); }
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", open ? "true" : "false");
    if (open && !started) { started = true; ask(""); }
    if (open) { input.focus(); }
  }

  bubble.addEventListener("click", function () { toggle(panel.hidden); });
  close.addEventListener("click", function () { toggle(false); bubble.focus(); });
  back.addEventListener("click", closeBooking);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    ask(text);
  });
  root.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || panel.hidden) { return; }
    if (!booking.hidden) { closeBooking(); } else { toggle(false); bubble.focus(); }
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
