// Passkey ceremonies for Gatehouse's pages (WebAuthn Level 3). Loaded from
// the server itself (the pages' CSP is script-src 'self'); no inline script.
//
// A form with data-passkey="create" or "get" and data-begin="URL" runs a
// ceremony when submitted: its fields (csrf, pending, auth) are posted to
// the begin URL, which answers {id, publicKey}; the browser's
// navigator.credentials runs it; the form is then submitted with the
// fields "ceremony" (the id) and "response" (the credential's JSON, or
// "code" for the second factor). A begin URL that answers 429 (too many
// ceremonies) sends {"error":"slow_down","retry_after":N,"message":TEXT}:
// the form's error shows TEXT. A form with data-passkey-autofill also
// asks for the browser's passkey autofill (conditional mediation).
// Without WebAuthn the passkey controls stay hidden and password sign-in
// works as before.
(function () {
  "use strict";

  var pk = window.PublicKeyCredential;
  if (!pk || !navigator.credentials || typeof pk.parseCreationOptionsFromJSON !== "function" ||
      typeof pk.parseRequestOptionsFromJSON !== "function") {
    return;
  }

  function begin(form) {
    var body = new URLSearchParams();
    ["csrf", "pending", "auth"].forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (el && el.value !== undefined) {
        body.set(name, el.value);
      }
    });
    return fetch(form.dataset.begin, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/x-www-form-urlencoded"},
      body: body
    }).then(function (res) {
      if (res.status === 429) {
        // Throttled: the answer carries the localized wait to show.
        return res.json().then(function (body) {
          var err = new Error((body && body.message) || "begin: 429");
          err.throttled = true;
          throw err;
        });
      }
      if (!res.ok) {
        throw new Error("begin: " + res.status);
      }
      return res.json();
    });
  }

  function finish(form, ceremony, credential) {
    form.elements.namedItem("ceremony").value = ceremony.id;
    var field = form.elements.namedItem("response") || form.elements.namedItem("code");
    field.value = JSON.stringify(credential.toJSON());
    HTMLFormElement.prototype.submit.call(form);
  }

  function showError(form, err) {
    var msg = form.querySelector("[data-passkey-error]");
    if (msg) {
      if (err && err.throttled && err.message) {
        msg.textContent = err.message;
      }
      msg.hidden = false;
    }
  }

  function run(form) {
    var kind = form.dataset.passkey;
    return begin(form).then(function (ceremony) {
      var get = kind === "get";
      var options = get ? pk.parseRequestOptionsFromJSON(ceremony.publicKey)
                        : pk.parseCreationOptionsFromJSON(ceremony.publicKey);
      var call = get ? navigator.credentials.get({publicKey: options})
                     : navigator.credentials.create({publicKey: options});
      return call.then(function (credential) {
        finish(form, ceremony, credential);
      });
    }).catch(function (err) {
      showError(form, err);
    });
  }

  var autofillAbort = null;

  // autofill offers the browser's passkeys in the e-mail field's
  // suggestions (autocomplete="... webauthn"), where supported.
  function autofill(form) {
    if (typeof pk.isConditionalMediationAvailable !== "function") {
      return;
    }
    pk.isConditionalMediationAvailable().then(function (ok) {
      if (!ok) {
        return;
      }
      return begin(form).then(function (ceremony) {
        autofillAbort = new AbortController();
        return navigator.credentials.get({
          mediation: "conditional",
          signal: autofillAbort.signal,
          publicKey: pk.parseRequestOptionsFromJSON(ceremony.publicKey)
        }).then(function (credential) {
          if (credential) {
            finish(form, ceremony, credential);
          }
        });
      });
    }).catch(function () {
      // The autofill is a convenience: the button and the password stay.
    });
  }

  // What goes with the passkey forms (their buttons, the "or" line
  // between them and the password form) shows once WebAuthn is here.
  document.querySelectorAll("[data-passkey-hidden]").forEach(function (el) {
    el.hidden = false;
  });
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (autofillAbort) {
        // One WebAuthn request at a time: the button replaces the autofill.
        autofillAbort.abort();
        autofillAbort = null;
      }
      run(form);
    });
    if (form.hasAttribute("data-passkey-autofill")) {
      autofill(form);
    }
  });
})();
