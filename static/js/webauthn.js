// Security keys and passkeys (WebAuthn): the browser asks the key, the server judges its answer
// (twofactor/webauthn.py). « begin » gives the challenge (JSON); the key's answer then leaves in the
// form's own POST, so that the outcome is a page, as for a code. Without WebAuthn, or without this
// script, the form keeps its button hidden and says why (its <noscript>, or the line this script shows).

const BROWSER_REFUSALS = {
  NotAllowedError:
    "La clé n'a pas répondu : l'opération a été annulée, ou le délai est dépassé. Recommencez quand votre clé est prête.",
  AbortError: "L'opération a été annulée. Recommencez quand votre clé est prête.",
  InvalidStateError: "Cette clé est déjà enregistrée sur votre compte : elle figure dans la liste de vos moyens de connexion.",
  SecurityError: "Votre navigateur refuse d'utiliser une clé à cette adresse : ouvrez le portail à son adresse habituelle.",
  NotSupportedError: "Cette clé ne sait pas répondre au portail : essayez une autre clé, ou un autre moyen.",
};
const FAILED = "Votre clé ou votre navigateur n'a pas pu répondre. Réessayez, ou utilisez un autre moyen.";
const UNREACHABLE = "Le portail n'a pas pu être joint. Vérifiez votre connexion, puis recommencez.";

// WebAuthn speaks in bytes, the server in base64url (py_webauthn's JSON forms).
const toBytes = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
};
const toText = (buffer) =>
  btoa(Array.from(new Uint8Array(buffer), (byte) => String.fromCharCode(byte)).join(""))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const withIds = (descriptors) => (descriptors || []).map((descriptor) => ({ ...descriptor, id: toBytes(descriptor.id) }));

const creationOptions = (options) => ({
  ...options,
  challenge: toBytes(options.challenge),
  user: { ...options.user, id: toBytes(options.user.id) },
  excludeCredentials: withIds(options.excludeCredentials),
});
const requestOptions = (options) => ({
  ...options,
  challenge: toBytes(options.challenge),
  allowCredentials: withIds(options.allowCredentials),
});

const credentialJSON = (credential) => {
  const answer = credential.response;
  const response = { clientDataJSON: toText(answer.clientDataJSON) };
  if (answer.attestationObject) {
    response.attestationObject = toText(answer.attestationObject);
    response.transports = typeof answer.getTransports === "function" ? answer.getTransports() : [];
  } else {
    response.authenticatorData = toText(answer.authenticatorData);
    response.signature = toText(answer.signature);
    if (answer.userHandle) response.userHandle = toText(answer.userHandle);
  }
  return {
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
};

// A message under the field or the button, in the live region already there, so that it is read out.
const say = (region, message) => {
  const line = document.createElement("p");
  line.className = "fr-message fr-message--error";
  line.textContent = message;
  region.replaceChildren(...(message ? [line] : []));
};

class Refusal extends Error {
  constructor(answer) {
    super(answer.detail || UNREACHABLE);
    this.code = answer.code;
  }
}

async function begin(form, body) {
  let response;
  try {
    response = await fetch(form.dataset.beginUrl, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value, Accept: "application/json" },
    });
  } catch {
    throw new Refusal({});
  }
  const answer = await response.json().catch(() => ({}));
  if (answer.redirect) {
    window.location.assign(answer.redirect);
    return null;
  }
  if (!response.ok || !answer.challenge) throw new Refusal(answer);
  return answer;
}

const supported = typeof window.PublicKeyCredential === "function" && navigator.credentials !== undefined;

for (const form of document.querySelectorAll("[data-webauthn-register], [data-webauthn-verify]")) {
  const registering = form.hasAttribute("data-webauthn-register");
  const button = form.querySelector("[data-webauthn-button]");
  const status = form.querySelector("[data-webauthn-status]");
  const name = form.elements.name;
  const nameGroup = name && name.closest(".fr-input-group");
  const nameMessages = nameGroup && nameGroup.querySelector(".fr-messages-group");
  form.querySelector("[data-webauthn-unavailable]").hidden = supported;
  if (!supported) continue;
  button.hidden = false;

  const nameError = (message) => {
    if (!nameGroup) return;
    nameGroup.classList.toggle("fr-input-group--error", Boolean(message));
    name.classList.toggle("fr-input--error", Boolean(message));
    say(nameMessages, message);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    say(status, "");
    nameError("");
    try {
      const options = await begin(form, registering ? new FormData(form) : undefined);
      if (!options) return;
      const credential = registering
        ? await navigator.credentials.create({ publicKey: creationOptions(options) })
        : await navigator.credentials.get({ publicKey: requestOptions(options) });
      form.elements[registering ? "credential" : "assertion"].value = JSON.stringify(credentialJSON(credential));
      form.submit();
    } catch (error) {
      button.disabled = false;
      if (error instanceof Refusal && error.code === "invalid_name") {
        nameError(error.message);
        name.focus();
        return;
      }
      say(status, error instanceof Refusal ? error.message : BROWSER_REFUSALS[error.name] || FAILED);
      button.focus();
    }
  });
}
