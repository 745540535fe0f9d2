// The web chat page, enhanced: send messages as JSON and show the replies without reloading.
// Without this script the page still works as a plain form. Replies arrive as data (blocks, see
// bot/web_chat/render.py) and become elements through textContent only: nothing a user or the bot
// wrote is ever parsed as HTML.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  var log = document.getElementById("chat-log");
  if (!form || !log || !window.fetch) { return; }
  var input = document.getElementById("chat-text");
  var csrf = form.elements.namedItem("csrf").value;
  var endpoint = form.getAttribute("action") + "/messages";
  var browserLanguage = navigator.language || "";
  form.elements.namedItem("lang").value = browserLanguage;

  var languageForm = document.getElementById("chat-language");
  var languageSelect = document.getElementById("chat-language-select");
  if (languageForm && languageSelect) {
    document.getElementById("chat-language-change").hidden = true;
    languageSelect.addEventListener("change", function () { languageForm.submit(); });
  }

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

  function appendParts(parent, parts) {
    parts.forEach(function (part) {
      if (part.link) { parent.appendChild(link(part.link, part.link)); }
      else { parent.appendChild(document.createTextNode(part.text || "")); }
    });
    return parent;
  }

  function copyButton(block, area) {
    var button = element("button", null, block.copy);
    button.type = "button";
    button.addEventListener("click", function () {
      area.select();
      var done = function () { button.textContent = block.copied; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(block.text).then(done, function () {
          document.execCommand("copy"); done();
        });
      } else { document.execCommand("copy"); done(); }
    });
    return button;
  }

  function renderBlock(block, into) {
    var node;
    if (block.type === "text") {
      node = appendParts(element("p"), block.parts);
    } else if (block.type === "section") {
      node = element("div", "chat-section");
      node.appendChild(element("strong", null, block.heading));
      var list = element("ul");
      block.lines.forEach(function (line) { list.appendChild(appendParts(element("li"), line)); });
      node.appendChild(list);
    } else if (block.type === "fields") {
      node = element("dl", "chat-fields");
      block.pairs.forEach(function (pair) {
        node.appendChild(element("dt", null, pair[0]));
        node.appendChild(appendParts(element("dd"), pair[1]));
      });
    } else if (block.type === "link" || block.type === "book") {
      node = link(block.url, block.label, "chat-button" + (block.primary ? " primary" : ""));
    } else if (block.type === "action") {
      node = element("button", "chat-action", block.label);
      node.type = "button";
      node.addEventListener("click", function () {
        send({ action: block.action, value: block.value }, null);
      });
    } else if (block.type === "share") {
      node = element("div", "chat-share");
      node.appendChild(element("p", null, block.label));
      var area = element("textarea");
      area.readOnly = true;
      area.rows = 2;
      area.value = block.text;
      area.setAttribute("aria-label", block.label);
      node.appendChild(area);
      node.appendChild(copyButton(block, area));
    } else {
      return;
    }
    into.appendChild(node);
  }

  function bubble(who, className) {
    var item = element("li", "chat-message " + className);
    item.appendChild(element("span", "chat-who", log.getAttribute(who === "you" ? "data-you" : "data-bot")));
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function showReply(item, reply) {
    item.className = "chat-message from-bot";
    item.setAttribute("lang", (reply.locale || "en").replace("_", "-"));
    while (item.childNodes.length > 1) { item.removeChild(item.lastChild); }
    reply.blocks.forEach(function (block) { renderBlock(block, item); });
    item.scrollIntoView({ block: "end" });
  }

  function showProblem(item, text) {
    item.className = "chat-message from-bot failed";
    while (item.childNodes.length > 1) { item.removeChild(item.lastChild); }
    item.appendChild(element("p", null, text));
  }

  function send(payload, said) {
    if (said) { bubble("you", "from-you").appendChild(element("p", null, said)); }
    var pending = bubble("bot", "from-bot pending");
    pending.appendChild(element("p", null, log.getAttribute("data-thinking")));
    payload.lang = browserLanguage;
    return fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.ok && data.reply) { showReply(pending, data.reply); }
        if (data.language && languageSelect) { languageSelect.value = data.language; }
        else { showProblem(pending, data.error || log.getAttribute("data-failed")); }
      });
    }).catch(function () {
      showProblem(pending, log.getAttribute("data-failed"));
    });
  }

  // Buttons of a reply rendered by the server (no-JS answers) keep working as forms.
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send({ text: text }, text).then(function () { input.focus(); });
  });
})();
