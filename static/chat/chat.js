/* Junction Chat: streams answers from /chat/api/…/reply (the OpenAI chat
   completions SSE, produced by the /v1 pipeline) and renders them as
   sanitised Markdown. No build step; marked, DOMPurify and highlight.js are
   vendored in static/vendor. */
(function () {
  "use strict";

  const root = document.querySelector("[data-chat]");
  if (!root) return;
  const state = JSON.parse(document.getElementById("chat-state").textContent);
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const $ = (sel) => root.querySelector(sel);

  const els = {
    model: $("[data-model]"),
    balance: $("[data-balance]"),
    list: $("[data-list]"),
    toggle: $("[data-toggle-list]"),
    conversations: $("[data-conversations]"),
    search: $("[data-search]"),
    newChat: $("[data-new]"),
    thread: $("[data-thread]"),
    welcome: $("[data-welcome]"),
    head: $("[data-thread-head]"),
    title: $("[data-title]"),
    rename: $("[data-rename]"),
    del: $("[data-delete]"),
    composer: $("[data-composer]"),
    prompt: $("[data-prompt]"),
    send: $("[data-send]"),
    stop: $("[data-stop]"),
    file: $("[data-file]"),
    attachLabel: $("[data-attach-label]"),
    attachments: $("[data-attachments]"),
    note: $("[data-note]"),
  };

  let conversation = state.conversation;
  let messages = state.messages;
  let pending = []; // attachments uploaded for the next message: {id, filename, content_type}
  let mode = "send"; // or "edit" while the last message is being edited
  let controller = null;

  // ------------------------------------------------------------ rendering

  // HTML written by a model is shown as text, never parsed (and whatever
  // Markdown itself produces still goes through DOMPurify below).
  if (window.marked) {
    window.marked.use({
      renderer: {
        html(token) {
          return escapeHtml(typeof token === "string" ? token : token.text || token.raw || "");
        },
      },
    });
  }

  function markdown(text) {
    const html = window.marked ? window.marked.parse(text || "", { gfm: true }) : escapeHtml(text || "");
    // Everything a model writes is untrusted: DOMPurify strips scripts, event
    // handlers and javascript: URLs before it reaches the page.
    return window.DOMPurify ? window.DOMPurify.sanitize(html, { USE_PROFILES: { html: true } }) : escapeHtml(text || "");
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  if (window.DOMPurify) {
    window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
  }

  function highlight(container) {
    if (!window.hljs) return;
    container.querySelectorAll("pre code").forEach((block) => window.hljs.highlightElement(block));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function metaLine(message) {
    const meta = el("div", "msg-meta");
    if (message.model) meta.append(el("span", "", message.model));
    if (message.usage) {
      const u = message.usage;
      meta.append(el("span", "", `${u.input_tokens} in · ${u.output_tokens} out`));
      meta.append(el("span", "", `${u.cost}${u.estimated ? " (estimated)" : ""}`));
    } else if (message.status !== "streaming" && message.request_id) {
      meta.append(el("span", "", "cost pending…"));
    }
    if (message.status === "stopped") meta.append(el("span", "", "stopped"));
    return meta;
  }

  function errorBox(message) {
    const box = el("div", "msg-error");
    box.setAttribute("role", "alert");
    box.append(document.createTextNode(message.error || "The call failed."));
    if (message.out_of_credits) {
      box.append(document.createTextNode(" "));
      if (state.topup_url) {
        const link = el("a", "", "Top up credits");
        link.href = state.topup_url;
        box.append(link);
      } else {
        box.append(document.createTextNode("Ask an owner or admin of the workspace to top up."));
      }
    }
    return box;
  }

  function renderMessage(message, index) {
    const wrap = el("article", `msg msg-${message.role}`);
    wrap.dataset.role = message.role;
    if (message.role === "user") {
      if (message.content) wrap.append(el("div", "bubble", message.content));
      if (message.attachments && message.attachments.length) {
        const chips = el("div", "chips");
        message.attachments.forEach((a) =>
          chips.append(el("span", "chip", typeof a === "string" ? attachmentName(a) : a.filename)),
        );
        wrap.append(chips);
      }
      if (index === lastIndex("user") && !controller) {
        const meta = el("div", "msg-meta");
        const edit = el("button", "link-button", "Edit");
        edit.type = "button";
        edit.addEventListener("click", () => startEdit(message));
        meta.append(edit);
        wrap.append(meta);
      }
    } else {
      const bubble = el("div", "bubble");
      bubble.dataset.answer = "";
      bubble.innerHTML = markdown(message.content);
      if (message.status === "streaming") bubble.classList.add("cursor");
      highlight(bubble);
      wrap.append(bubble);
      if (message.status === "failed") wrap.append(errorBox(message));
      const meta = metaLine(message);
      if (index === messages.length - 1 && !controller) {
        const again = el("button", "link-button", "Regenerate");
        again.type = "button";
        again.addEventListener("click", () => reply("regenerate", "", []));
        meta.append(again);
      }
      wrap.append(meta);
    }
    return wrap;
  }

  const names = {};
  function attachmentName(id) {
    return names[id] || "attachment";
  }

  function lastIndex(role) {
    for (let i = messages.length - 1; i >= 0; i -= 1) if (messages[i].role === role) return i;
    return -1;
  }

  function renderThread() {
    els.thread.querySelectorAll(".msg").forEach((node) => node.remove());
    els.welcome.hidden = Boolean(conversation) && messages.length > 0;
    messages.forEach((m, i) => els.thread.append(renderMessage(m, i)));
    els.head.hidden = !conversation;
    if (conversation) {
      els.title.textContent = conversation.title;
      document.title = `${conversation.title} · Junction`;
    }
    scrollDown();
  }

  function scrollDown() {
    els.thread.scrollTop = els.thread.scrollHeight;
  }

  function renderConversations(list) {
    els.conversations.replaceChildren();
    if (!list.length) {
      els.conversations.append(el("li", "muted small empty-list", "No conversations found."));
      return;
    }
    list.forEach((c) => {
      const li = el("li");
      const a = el("a", "", c.title);
      a.href = c.url;
      if (conversation && c.id === conversation.id) a.setAttribute("aria-current", "page");
      li.append(a);
      els.conversations.append(li);
    });
  }

  function renderModels() {
    els.model.replaceChildren();
    const wanted = (conversation && conversation.model) || localStorage.getItem("junction-chat-model") || "";
    state.models.forEach((m) => {
      const option = el("option", "", m.label === m.id ? m.id : `${m.label}`);
      option.value = m.id;
      if (m.id === wanted) option.selected = true;
      els.model.append(option);
    });
    updateAttach();
  }

  function currentModel() {
    return state.models.find((m) => m.id === els.model.value);
  }

  function updateAttach() {
    const model = currentModel();
    const ok = Boolean(model && (model.vision || model.files));
    els.attachLabel.setAttribute("aria-disabled", ok ? "false" : "true");
    els.file.disabled = !ok;
    els.attachLabel.title = ok ? "Attach an image or a PDF" : "This model takes no attachments";
  }

  function renderPending() {
    els.attachments.replaceChildren();
    if (!pending.length) return;
    const chips = el("div", "chips");
    pending.forEach((a, i) => {
      const chip = el("span", "chip", a.filename);
      const remove = el("button", "", "×");
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${a.filename}`);
      remove.addEventListener("click", () => {
        pending.splice(i, 1);
        renderPending();
      });
      chip.append(remove);
      chips.append(chip);
    });
    els.attachments.append(chips);
  }

  function setBusy(busy) {
    els.send.hidden = busy;
    els.stop.hidden = !busy;
    els.prompt.disabled = false;
  }

  function note(text) {
    els.note.textContent = text || "";
  }

  // ---------------------------------------------------------------- the API

  async function api(url, options = {}) {
    const headers = Object.assign({ "X-CSRFToken": csrf }, options.headers || {});
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    const resp = await fetch(url, Object.assign({}, options, { headers, credentials: "same-origin" }));
    return resp;
  }

  async function refreshBalance() {
    const resp = await api(state.urls.balance);
    if (resp.ok) els.balance.textContent = (await resp.json()).display;
  }

  async function reload() {
    if (!conversation) return null;
    const resp = await api(`${state.urls.conversations}${conversation.id}/`);
    if (!resp.ok) return null;
    const data = await resp.json();
    conversation = data.conversation;
    messages = data.messages;
    renderThread();
    return data;
  }

  // After an answer: its cost is on the request log row, which the log writer
  // adds within a moment; ask a few times, then show the balance it left.
  async function settle() {
    for (let i = 0; i < 8; i += 1) {
      const data = await reload();
      const last = data && data.messages[data.messages.length - 1];
      if (!last || last.role !== "assistant" || last.usage || !last.request_id) break;
      await new Promise((r) => setTimeout(r, 300 + i * 200));
    }
    // The ledger's writer posts charges in batches (a fraction of a second).
    await new Promise((r) => setTimeout(r, 400));
    await refreshBalance();
    setTimeout(refreshBalance, 1500);
  }

  async function ensureConversation() {
    if (conversation) return conversation;
    const resp = await api(state.urls.conversations, { method: "POST", json: { model: els.model.value } });
    if (!resp.ok) throw new Error("Could not start a conversation.");
    conversation = await resp.json();
    history.replaceState(null, "", conversation.url);
    return conversation;
  }

  async function reply(replyMode, content, attachments) {
    if (controller) return;
    const model = els.model.value;
    try {
      await ensureConversation();
    } catch (err) {
      note(err.message);
      return;
    }
    localStorage.setItem("junction-chat-model", model);
    // Show the turn at once; the server keeps the same history.
    if (replyMode === "send") {
      messages.push({ role: "user", content, attachments });
    } else {
      const lastUser = lastIndex("user");
      messages = messages.slice(0, lastUser + 1);
      if (replyMode === "edit") messages[lastUser] = Object.assign({}, messages[lastUser], { content });
    }
    const answer = { role: "assistant", content: "", model, status: "streaming" };
    messages.push(answer);
    controller = new AbortController();
    setBusy(true);
    renderThread();
    const bubble = () => els.thread.querySelector(".msg:last-of-type [data-answer]");

    let text = "";
    let failed = null;
    try {
      const resp = await api(`${state.urls.conversations}${conversation.id}/reply/`, {
        method: "POST",
        json: { mode: replyMode, model, content, attachments },
        signal: controller.signal,
      });
      if (!resp.ok) {
        let message = `The call failed (${resp.status}).`;
        try {
          message = (await resp.json()).error.message || message;
        } catch (_) {
          /* not JSON */
        }
        failed = { error: message, out_of_credits: resp.status === 402 };
      } else {
        const reader = resp.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        let scheduled = false;
        const paint = () => {
          scheduled = false;
          const node = bubble();
          if (node) {
            node.innerHTML = markdown(text);
            scrollDown();
          }
        };
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          const events = buffer.split("\n\n");
          buffer = events.pop();
          for (const event of events) {
            for (const line of event.split("\n")) {
              if (!line.startsWith("data:")) continue;
              const data = line.slice(5).trim();
              if (!data || data === "[DONE]") continue;
              let payload;
              try {
                payload = JSON.parse(data);
              } catch (_) {
                continue;
              }
              if (payload.error) {
                failed = { error: payload.error.message || "The model failed to answer." };
                continue;
              }
              for (const choice of payload.choices || []) {
                if (choice.delta && typeof choice.delta.content === "string") text += choice.delta.content;
              }
            }
          }
          if (!scheduled) {
            scheduled = true;
            requestAnimationFrame(paint);
          }
        }
      }
    } catch (err) {
      if (err.name !== "AbortError") failed = { error: "The connection was lost." };
    }
    const stopped = controller.signal.aborted;
    controller = null;
    setBusy(false);
    answer.content = text;
    answer.status = failed ? "failed" : stopped ? "stopped" : "complete";
    if (failed) Object.assign(answer, failed);
    renderThread();
    const outOfCredits = failed && failed.out_of_credits;
    await settle();
    if (outOfCredits) {
      // keep the top-up message in view after the reload
      const last = messages[messages.length - 1];
      if (last && last.status === "failed") {
        last.out_of_credits = true;
        renderThread();
      }
    }
    refreshList();
  }

  async function refreshList() {
    const q = els.search.value.trim();
    const resp = await api(`${state.urls.conversations}?q=${encodeURIComponent(q)}`);
    if (resp.ok) renderConversations((await resp.json()).data);
  }

  function startEdit(message) {
    mode = "edit";
    els.prompt.value = message.content;
    autosize();
    els.prompt.focus();
    note("Editing your last message: Send replaces it and asks again. Esc cancels.");
  }

  function autosize() {
    els.prompt.style.height = "";
    els.prompt.style.height = `${Math.min(els.prompt.scrollHeight + 2, window.innerHeight * 0.4)}px`;
  }

  // ---------------------------------------------------------------- events

  els.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const content = els.prompt.value;
    if (!content.trim() && !pending.length) return;
    const attachments = pending.map((a) => a.id);
    pending.forEach((a) => (names[a.id] = a.filename));
    const replyMode = mode;
    mode = "send";
    pending = [];
    renderPending();
    els.prompt.value = "";
    autosize();
    note("");
    reply(replyMode, content, replyMode === "edit" ? [] : attachments);
  });

  els.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.composer.requestSubmit();
    } else if (event.key === "Escape" && mode === "edit") {
      mode = "send";
      els.prompt.value = "";
      autosize();
      note("");
    }
  });
  els.prompt.addEventListener("input", autosize);

  els.stop.addEventListener("click", () => {
    if (controller) controller.abort();
  });

  els.model.addEventListener("change", () => {
    localStorage.setItem("junction-chat-model", els.model.value);
    updateAttach();
  });

  els.file.addEventListener("change", async () => {
    const file = els.file.files[0];
    els.file.value = "";
    if (!file) return;
    note(`Uploading ${file.name}…`);
    const form = new FormData();
    form.append("file", file);
    const resp = await api(state.urls.attachments, { method: "POST", body: form });
    if (!resp.ok) {
      let message = "The upload failed.";
      try {
        message = (await resp.json()).error.message;
      } catch (_) {
        /* not JSON */
      }
      note(message);
      return;
    }
    pending.push(await resp.json());
    renderPending();
    note("");
  });

  els.newChat.addEventListener("click", () => {
    window.location.href = state.urls.home;
  });

  let searchTimer = null;
  els.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refreshList, 200);
  });

  els.rename.addEventListener("click", async () => {
    if (!conversation) return;
    const title = window.prompt("Rename this conversation", conversation.title);
    if (title === null || !title.trim()) return;
    const resp = await api(`${state.urls.conversations}${conversation.id}/`, { method: "POST", json: { title } });
    if (resp.ok) {
      conversation = (await resp.json()).conversation;
      renderThread();
      refreshList();
    }
  });

  els.del.addEventListener("click", async () => {
    if (!conversation) return;
    if (!window.confirm(`Delete "${conversation.title}"? This cannot be undone.`)) return;
    const resp = await api(`${state.urls.conversations}${conversation.id}/`, { method: "DELETE" });
    if (resp.ok) window.location.href = state.urls.home;
  });

  els.toggle.addEventListener("click", () => {
    const open = !els.list.classList.contains("open");
    els.list.classList.toggle("open", open);
    els.toggle.setAttribute("aria-expanded", String(open));
  });
  els.thread.addEventListener("click", () => {
    if (els.list.classList.contains("open")) {
      els.list.classList.remove("open");
      els.toggle.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && els.list.classList.contains("open")) {
      els.list.classList.remove("open");
      els.toggle.setAttribute("aria-expanded", "false");
      els.toggle.focus();
    }
  });

  // A tab closed mid-answer: the fetch is aborted by the browser, the server
  // cancels the upstream call and charges what was produced.
  window.addEventListener("pagehide", () => {
    if (controller) controller.abort();
  });

  renderModels();
  renderThread();
  els.prompt.focus();
})();
