// Passkeys on the account page (add one) and the second sign-in step (use one).
// Each form marked data-passkey asks the server for options (which keeps the
// challenge in the session), asks the browser's authenticator, and posts the
// answer as an ordinary form field: the server then answers with a page.
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBytes(c.id) }); });
  }

  function asJson(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response: response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
    });
  }

  async function ask(form, purpose) {
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var answer = await fetch(form.dataset.optionsUrl, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
    });
    if (!answer.ok) throw new Error("options");
    var options = await answer.json();
    options.challenge = toBytes(options.challenge);
    if (purpose === "register") {
      options.user.id = toBytes(options.user.id);
      options.excludeCredentials = withIds(options.excludeCredentials);
      return navigator.credentials.create({ publicKey: options });
    }
    options.allowCredentials = withIds(options.allowCredentials);
    return navigator.credentials.get({ publicKey: options });
  }

  function setUp(form) {
    var purpose = form.dataset.passkey;
    var status = form.querySelector("[data-passkey-status]");
    var button = form.querySelector("[data-passkey-button]");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      status.textContent = purpose === "register"
        ? "This browser cannot make passkeys. Add an authenticator app instead."
        : "This browser cannot use passkeys. Use a code from your authenticator app or a recovery code.";
      return;
    }
    button.hidden = false;
    form.querySelectorAll("[data-passkey-field]").forEach(function (field) { field.hidden = false; });
    form.addEventListener("submit", async function (event) {
      if (form.elements.credential.value) return;
      event.preventDefault();
      button.disabled = true;
      status.textContent = "Follow your browser's prompt to use your passkey…";
      try {
        var credential = await ask(form, purpose);
        form.elements.credential.value = asJson(credential);
        status.textContent = "Checking…";
        form.submit();
      } catch (error) {
        button.disabled = false;
        status.textContent = "The passkey was not used (cancelled, timed out, or not on this device). Try again"
          + (purpose === "register" ? ", or add an authenticator app instead." : ", or use a code instead.");
      }
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(setUp);
})();
