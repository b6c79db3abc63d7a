// The sign-in form.

import { ApiError, post } from "../api.js";
import { h } from "../dom.js";

export function renderLogin(main, { message = "", onSuccess }) {
  const error = h("div", { class: "banner error", role: "alert", hidden: true });
  const info = message ? h("div", { class: "banner", role: "status" }, message) : null;
  const username = h("input", { id: "login-username", name: "username", type: "text", autocomplete: "username", required: true, autocapitalize: "none" });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "card", "aria-labelledby": "login-title" },
    h("img", { class: "logo", src: "/static/icons/icon.svg", alt: "" }),
    h("h1", { id: "login-title" }, "Sign in to jobwerk"),
    info, error,
    h("div", { class: "field" }, h("label", { for: "login-username" }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: "login-password" }, "Password"), password),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const answer = await post("/api/v1/auth/login", { username: username.value, password: password.value }, { quiet401: true });
      await onSuccess(answer?.user ? { ...answer.user, csrf_token: answer.csrf_token } : answer);
    } catch (failure) {
      error.textContent = failure instanceof ApiError && (failure.status === 401 || failure.status === 403)
        ? "Wrong username or password."
        : failure.message;
      error.hidden = false;
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(h("div", { class: "login" }, form));
  username.focus();
}
