/* DOM helpers. Text from the API is only ever set with textContent, never parsed as HTML. */

export function $(id) {
  return document.getElementById(id);
}

export function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text != null) {
    node.textContent = text;
  }
  return node;
}

export function setBusy(node, busy) {
  if (node) {
    node.setAttribute("aria-busy", busy ? "true" : "false");
  }
}
