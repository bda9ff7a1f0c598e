// A preview of how a chat template lays out a conversation: the template's markers around each turn,
// with the spans that response-only training learns from (assistant turns) flagged as trained.
// It shows the markers, not the exact tokenizer output (BOS handling and whitespace can differ).

// Segments: {text, kind} with kind "marker" | "text" | "trained".
function turn(open, content, close, trained) {
  return [
    { text: open, kind: "marker" },
    { text: content, kind: trained ? "trained" : "text" },
    { text: close, kind: trained ? "trained-marker" : "marker" },
  ];
}

function isTrained(message) {
  return message.role === "assistant" && message.weight !== 0;
}

function contentOf(message) {
  if (typeof message.content === "string" && message.content) return message.content;
  if (Array.isArray(message.tool_calls)) return JSON.stringify(message.tool_calls);
  return typeof message.content === "string" ? message.content : JSON.stringify(message.content ?? "");
}

const FAMILIES = {
  chatml: {
    label: "ChatML",
    render: (messages) => messages.flatMap((m) => turn(`<|im_start|>${m.role}\n`, contentOf(m), "<|im_end|>\n", isTrained(m))),
  },
  phi4: {
    label: "Phi-4",
    render: (messages) => messages.flatMap((m) => turn(`<|im_start|>${m.role}<|im_sep|>`, contentOf(m), "<|im_end|>", isTrained(m))),
  },
  // Phi-4-mini has its own format (not Phi-4 14B's): <|role|>text<|end|>, no newlines.
  phi4mini: {
    label: "Phi-4-mini",
    render: (messages) => messages.flatMap((m) => turn(`<|${m.role}|>`, contentOf(m), "<|end|>", isTrained(m))),
  },
  phi3: {
    label: "Phi-3",
    render: (messages) => messages.flatMap((m) => turn(`<|${m.role}|>\n`, contentOf(m), "<|end|>\n", isTrained(m))),
  },
  llama3: {
    label: "Llama 3",
    render: (messages) => [
      { text: "<|begin_of_text|>", kind: "marker" },
      ...messages.flatMap((m) => {
        const role = m.role === "tool" ? "ipython" : m.role;
        return turn(`<|start_header_id|>${role}<|end_header_id|>\n\n`, contentOf(m), "<|eot_id|>", isTrained(m));
      }),
    ],
  },
  // Gemma has no system role: its template puts the system text at the top of the first user turn.
  gemma: {
    label: "Gemma",
    render: (messages) => {
      const { system, rest } = splitSystem(messages);
      const segments = [{ text: "<bos>", kind: "marker" }];
      let pendingSystem = system;
      for (const m of rest) {
        const speaker = m.role === "assistant" ? "model" : "user";
        let content = contentOf(m);
        if (pendingSystem && speaker === "user") {
          content = `${pendingSystem}\n\n${content}`;
          pendingSystem = "";
        }
        segments.push(...turn(`<start_of_turn>${speaker}\n`, content, "<end_of_turn>\n", isTrained(m)));
      }
      return segments;
    },
  },
  // Mistral: user turns inside [INST] … [/INST], the reply after it, closed by </s>.
  mistral: {
    label: "Mistral",
    render: (messages) => {
      const { system, rest } = splitSystem(messages);
      const segments = [{ text: "<s>", kind: "marker" }];
      let pendingSystem = system;
      for (const m of rest) {
        if (m.role === "assistant") {
          segments.push({ text: contentOf(m), kind: isTrained(m) ? "trained" : "text" });
          segments.push({ text: "</s>", kind: isTrained(m) ? "trained-marker" : "marker" });
          continue;
        }
        const content = pendingSystem ? `${pendingSystem}\n\n${contentOf(m)}` : contentOf(m);
        pendingSystem = "";
        segments.push(...turn("[INST] ", content, " [/INST]", false));
      }
      return segments;
    },
  },
};

function splitSystem(messages) {
  const system = messages.filter((m) => m.role === "system").map(contentOf).join("\n\n");
  return { system, rest: messages.filter((m) => m.role !== "system") };
}

// Maps a catalogue template name (an Unsloth get_chat_template key such as "qwen-2.5", "llama-3.1",
// "phi-4", "phi-4-mini", "gemma-3", "mistral", "chatml") to one of the families above; null when unknown.
export function templateFamily(name, responseMarker = "") {
  const key = String(name ?? "").toLowerCase();
  if (/phi-?4-?mini/.test(key)) return "phi4mini";
  if (/phi-?4/.test(key)) return "phi4";
  if (/phi-?3/.test(key)) return "phi3";
  if (/llama-?3/.test(key)) return "llama3";
  if (key.includes("gemma")) return "gemma";
  if (key.includes("mistral")) return "mistral";
  if (/qwen|chatml|smol/.test(key)) return "chatml";
  if (String(responseMarker).includes("<|im_start|>")) return "chatml";
  return null;
}

export function familyLabel(family) {
  return FAMILIES[family]?.label ?? family;
}

export function renderTemplate(messages, family) {
  const renderer = FAMILIES[family];
  if (!renderer) return null;
  return renderer.render(Array.isArray(messages) ? messages : []);
}
