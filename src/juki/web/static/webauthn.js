/* juki clerk UI: the WebAuthn ceremonies of the sign-in and enrolment pages.
   A form with data-webauthn="get" or "create" carries the server's options as JSON (data-public-key, the
   PublicKeyCredential…OptionsJSON py_webauthn writes). This script decodes their base64url fields, asks
   navigator.credentials, and posts the authenticator's answer (JSON, base64url fields) in the form's hidden
   `credential` field together with the page's CSRF token. The server verifies everything; nothing here is trusted.
   Loaded from /static (the CSP allows no inline script). */
(function () {
  "use strict";

  function fromB64url(text) {
    var s = String(text).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var binary = window.atob(s);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type || "public-key", id: fromB64url(d.id) };
      if (d.transports) out.transports = d.transports;
      return out;
    });
  }

  // PublicKeyCredentialRequestOptionsJSON → the options navigator.credentials.get() takes.
  function requestOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = fromB64url(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  // PublicKeyCredentialCreationOptionsJSON → the options navigator.credentials.create() takes.
  function creationOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = fromB64url(json.challenge);
    o.user = Object.assign({}, json.user, { id: fromB64url(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function common(credential) {
    var out = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
    if (credential.authenticatorAttachment) out.authenticatorAttachment = credential.authenticatorAttachment;
    return out;
  }

  function assertionJSON(credential) {
    var r = credential.response;
    var out = common(credential);
    out.response = {
      clientDataJSON: toB64url(r.clientDataJSON),
      authenticatorData: toB64url(r.authenticatorData),
      signature: toB64url(r.signature),
      userHandle: r.userHandle ? toB64url(r.userHandle) : null
    };
    return out;
  }

  function attestationJSON(credential) {
    var r = credential.response;
    var out = common(credential);
    out.response = {
      clientDataJSON: toB64url(r.clientDataJSON),
      attestationObject: toB64url(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : []
    };
    return out;
  }

  // What the browser's refusal means for the clerk (DOMException names).
  function message(error, mode) {
    var name = error && error.name;
    if (name === "NotAllowedError") {
      return "認証器による本人確認ができませんでした（取り消された、時間切れ、または本人確認に失敗しました）。" +
        "もう一度ボタンを押すか、最初からやり直してください。";
    }
    if (name === "InvalidStateError" && mode === "create") {
      return "この認証器は既に登録されています。別の認証器を使ってください。";
    }
    if (name === "SecurityError") {
      return "この画面のアドレスでは生体認証を使えません（システムの WebAuthn 設定を管理者に確認してください）。";
    }
    if (name === "NotSupportedError" || name === "unsupported") {
      return "このブラウザーまたは端末は生体認証（WebAuthn）に対応していません。";
    }
    if (name === "AbortError") return "認証器の操作が中止されました。もう一度ボタンを押してください。";
    return "認証器の操作に失敗しました（" + (name || "不明なエラー") + "）。最初からやり直してください。";
  }

  function setup(form) {
    var mode = form.getAttribute("data-webauthn");
    var field = form.querySelector("[data-credential]");
    var status = form.querySelector("[data-status]");
    var errorSlot = form.querySelector("[data-error]");
    var button = form.querySelector("button[type=submit]");
    var options;
    try {
      options = JSON.parse(form.getAttribute("data-public-key") || "{}");
    } catch (e) {
      options = null;
    }
    var running = false;

    function show(text, isError) {
      if (errorSlot) errorSlot.textContent = isError ? text : "";
      if (status && !isError) status.textContent = text;
    }

    function ceremony() {
      if (running) return;
      if (!options || !window.PublicKeyCredential || !navigator.credentials) {
        show(message({ name: "unsupported" }, mode), true);
        return;
      }
      // An authenticator answers only at the address the register is set up for (not, say, its IP address).
      var origin = form.getAttribute("data-origin");
      if (origin && window.location.origin !== origin) {
        show("生体認証は " + origin + " の画面でだけ使えます。次のアドレスから開き直して、最初からやり直してください: ", true);
        if (errorSlot) {
          var link = document.createElement("a");
          link.href = origin + "/ui/login";
          link.textContent = origin + "/ui/login";
          errorSlot.appendChild(link);
        }
        if (status) status.hidden = true;
        return;
      }
      running = true;
      if (button) button.disabled = true;
      show(mode === "get" ? "認証器で本人確認をしてください（指紋・顔など）…" : "認証器の操作を待っています（指紋・顔など）…", false);
      var ask = mode === "get"
        ? navigator.credentials.get({ publicKey: requestOptions(options) })
        : navigator.credentials.create({ publicKey: creationOptions(options) });
      ask.then(function (credential) {
        if (!credential) throw { name: "NotAllowedError" };
        field.value = JSON.stringify(mode === "get" ? assertionJSON(credential) : attestationJSON(credential));
        show(mode === "get" ? "確認しています…" : "登録しています…", false);
        form.submit(); // the server verifies the answer and moves on (or says why not)
      }).catch(function (error) {
        running = false;
        if (button) { button.disabled = false; button.focus(); }
        show(mode === "get" ? "認証器で本人確認をしてください。" : "「認証器を登録する」を押してください。", false);
        show(message(error, mode), true);
      });
    }

    // Enter or the button starts the ceremony; the form is posted by the script once the answer is in.
    form.addEventListener("submit", function (event) {
      if (field.value) return;
      event.preventDefault();
      ceremony();
    });
    if (form.hasAttribute("data-autostart")) ceremony();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-webauthn]").forEach(setup);
  });
})();
