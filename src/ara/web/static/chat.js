// The chat page: sends a message and shows the answer as it streams (the UI-message stream of POST /ui/chat/turn:
// text deltas, tool calls with their arguments and results), and holds the page's control channel
// (/ui/chat/control): it registers the page's actions and answers the calls the API forwards to it.
// Without this file the form still posts and the page shows the stored chat.
(function () {
  "use strict";

  var ACTIONS = [
    { name: "show_message", description: "Show a message on the chat page",
      parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } },
    { name: "open_file", description: "Open a workspace file in the chat page's file view",
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } }
  ];

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function pretty(value) {
    if (typeof value === "string") {
      try { value = JSON.parse(value); } catch (e) { return value; }
    }
    return JSON.stringify(value, null, 2);
  }

  // -- the transcript ----------------------------------------------------------------------------------------
  function Turn(list) {
    this.list = list;
    this.text = null;
    this.tools = {};
  }
  Turn.prototype.add = function (kind, who, text) {
    var item = el("li", "msg msg-" + kind);
    item.appendChild(el("span", "who", who));
    var body = el("div", "text", text);
    item.appendChild(body);
    this.list.appendChild(item);
    return body;
  };
  Turn.prototype.delta = function (text) {
    if (!this.text) { this.text = this.add("assistant", "Assistant", ""); }
    this.text.textContent += text;
  };
  Turn.prototype.toolInput = function (id, name, input) {
    this.text = null;
    var template = document.getElementById("tool-template");
    var item = el("li", "msg msg-tool");
    item.appendChild(template.content.cloneNode(true));
    item.querySelector(".tool-name").textContent = name;
    item.querySelector(".tool-args").textContent = pretty(input);
    this.list.appendChild(item);
    this.tools[id] = item;
  };
  Turn.prototype.toolOutput = function (id, output) {
    this.text = null;
    var item = this.tools[id];
    if (item) { item.querySelector(".tool-result").textContent = pretty(output); }
  };
  Turn.prototype.error = function (text) {
    this.text = null;
    this.add("error", "Error", text);
  };

  function handle(turn, chunk, chatField) {
    if (chunk.type === "start" && chunk.messageMetadata && chunk.messageMetadata.chatId) {
      chatField.value = chunk.messageMetadata.chatId;
      history.replaceState(null, "", "/ui/chat?chat=" + encodeURIComponent(chatField.value));
    } else if (chunk.type === "text-delta") {
      turn.delta(chunk.delta);
    } else if (chunk.type === "tool-input-available") {
      turn.toolInput(chunk.toolCallId, chunk.toolName, chunk.input);
    } else if (chunk.type === "tool-output-available") {
      turn.toolOutput(chunk.toolCallId, chunk.output);
    } else if (chunk.type === "error") {
      turn.error(chunk.errorText);
    }
  }

  async function readStream(response, onChunk) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var part = await reader.read();
      if (part.done) { break; }
      buffer += decoder.decode(part.value, { stream: true });
      var end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        var event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        event.split("\n").forEach(function (line) {
          if (line.indexOf("data: ") !== 0) { return; }
          var data = line.slice(6);
          if (data !== "[DONE]") { onChunk(JSON.parse(data)); }
        });
      }
    }
  }

  async function refreshFiles() {
    var answer = await fetch("/ui/chat", { headers: { Accept: "text/html" } });
    if (!answer.ok) { return; }
    var page = new DOMParser().parseFromString(await answer.text(), "text/html");
    var fresh = page.getElementById("workspace-files");
    var here = document.getElementById("workspace-files");
    if (fresh && here) { here.replaceWith(fresh); }
  }

  async function send(form) {
    var status = document.getElementById("chat-status");
    var field = form.querySelector("textarea[name=message]");
    var chatField = form.querySelector("input[name=chat_id]");
    var message = field.value;
    if (!message.trim()) { field.focus(); return; }
    var body = new URLSearchParams(new FormData(form));  // before the field is cleared
    var turn = new Turn(document.getElementById("transcript"));
    turn.add("user", "You", message);
    field.value = "";
    status.textContent = "Answering…";
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      var response = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "text/event-stream", "X-CSRF-Token": csrf() },
        body: body
      });
      if (!response.ok) {
        var page = new DOMParser().parseFromString(await response.text(), "text/html");
        var shown = page.getElementById("f-message-error") || page.querySelector(".error-page p");
        turn.error(shown ? shown.textContent.trim() : "The server refused the message (" + response.status + ").");
        field.value = message;
      } else {
        await readStream(response, function (chunk) { handle(turn, chunk, chatField); });
        refreshFiles();
        control.ensure();  // the turn started the session if none ran: join its control channel now
      }
    } catch (e) {
      turn.error("The connection failed: " + e);
    } finally {
      status.textContent = "";
      button.disabled = false;
    }
  }

  // -- the control channel -----------------------------------------------------------------------------------
  function showMessage(args) {
    var box = document.getElementById("control-messages");
    var note = el("p", "notice control-message", String(args.text || ""));
    box.appendChild(note);
    return { shown: true, text: note.textContent };
  }

  async function openFile(args) {
    var path = String(args.path || "");
    var answer = await fetch("/ui/chat/files/view?path=" + encodeURIComponent(path));
    var page = new DOMParser().parseFromString(await answer.text(), "text/html");
    if (!answer.ok) {
      var reason = page.querySelector(".error-page p");
      throw new Error(reason ? reason.textContent.trim() : "cannot open " + path);
    }
    var content = page.querySelector(".file-content pre").textContent;
    var view = document.getElementById("file-view");
    document.getElementById("file-view-title").textContent = page.querySelector("#file-title").textContent;
    document.getElementById("file-view-content").textContent = content;
    view.hidden = false;
    return { opened: page.querySelector("#file-title").textContent, bytes: new TextEncoder().encode(content).length };
  }

  var HANDLERS = { show_message: showMessage, open_file: openFile };

  // One socket at a time; after a close it reconnects with a growing pause (at most a minute), so a stopped
  // session costs a handshake a minute, not a stream of them.
  var control = {
    socket: null,
    pause: 1000,
    state: null,
    ensure: function () {
      if (this.state && !this.socket) { connect(this.state); }
    }
  };

  function connect(state) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ui/chat/control");
    control.socket = socket;
    socket.addEventListener("message", async function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "ready") {
        control.pause = 1000;
        socket.send(JSON.stringify({ type: "register", actions: ACTIONS }));
      } else if (message.type === "registered") {
        state.textContent = "page actions registered: " + message.actions.join(", ");
        state.setAttribute("data-state", "on");
      } else if (message.type === "call") {
        var reply = { type: "result", call_id: message.call_id };
        try {
          var handler = HANDLERS[message.action];
          if (!handler) { throw new Error("this page has no action " + message.action); }
          reply.ok = true;
          reply.result = await handler(message.args || {});
        } catch (e) {
          reply.ok = false;
          reply.error = String(e.message || e);
        }
        socket.send(JSON.stringify(reply));
      }
    });
    socket.addEventListener("close", function () {
      state.textContent = "page actions not registered (reconnecting)";
      state.setAttribute("data-state", "off");
      control.socket = null;
      setTimeout(function () { control.ensure(); }, control.pause);
      control.pause = Math.min(control.pause * 2, 60000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("chat-form");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        send(form);
      });
    }
    var state = document.getElementById("control-state");
    if (state) {
      control.state = state;
      if (state.getAttribute("data-session")) { connect(state); }
    }
  });
})();
