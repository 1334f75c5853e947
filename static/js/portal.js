// Progressive help only: every rule is enforced by the server.

// The error summary takes the focus, so that screen readers announce it first.
const summary = document.querySelector("[data-error-summary]");
if (summary) {
  summary.focus();
}

// Captcha: « Nouvelle image » fetches a new challenge (image, audio and key).
for (const captcha of document.querySelectorAll("[data-captcha]")) {
  const button = captcha.querySelector("[data-captcha-refresh]");
  const form = captcha.closest("form");
  button.hidden = false;
  button.addEventListener("click", async () => {
    const response = await fetch(captcha.dataset.refreshUrl, {
      headers: { "X-Requested-With": "XMLHttpRequest" },
    });
    if (!response.ok) return;
    const challenge = await response.json();
    form.querySelector("input[name$='captcha_0']").value = challenge.key;
    captcha.querySelector("[data-captcha-image]").src = challenge.image_url;
    const audio = captcha.querySelector("[data-captcha-audio]");
    if (audio && challenge.audio_url) audio.src = challenge.audio_url;
    const answer = form.querySelector("input[name$='captcha_1']");
    answer.value = "";
    answer.focus();
  });
}

// Password meter: the memento's rule (12 characters, 3 of 4 kinds), live.
const LEVELS = ["très faible", "faible", "moyen", "bon", "très bon"];
const password = document.querySelector("[data-password-meter]");
const meter = document.querySelector("[data-password-meter-output]");
if (password && meter) {
  meter.hidden = false;
  // The level and the rules are read with the field; the level is also announced as it changes.
  password.setAttribute("aria-describedby", `${password.getAttribute("aria-describedby") || ""} password-meter`.trim());
  const rules = {
    length: (value) => value.length >= 12,
    upper: (value) => /\p{Lu}/u.test(value),
    lower: (value) => /\p{Ll}/u.test(value),
    digit: (value) => /\p{Nd}/u.test(value),
    special: (value) => /[^\p{L}\p{Nd}]/u.test(value),
  };
  const level = meter.querySelector("[data-password-meter-level]");
  const bar = meter.querySelector("[data-password-meter-bar]");
  const hint = meter.querySelector("[data-password-meter-hint]");
  const update = () => {
    const value = password.value;
    const met = {};
    for (const [name, test] of Object.entries(rules)) {
      met[name] = test(value);
      const rule = meter.querySelector(`[data-rule="${name}"]`);
      rule.dataset.met = met[name];
      rule.querySelector("[data-rule-state]").textContent = met[name] ? " : respectée" : " : non respectée";
    }
    const kinds = ["upper", "lower", "digit", "special"].filter((name) => met[name]).length;
    let score = 0;
    if (value.length > 0) score = 1;
    if (met.length && kinds >= 3) score = 3;
    else if (value.length >= 8 && kinds >= 2) score = 2;
    if (score === 3 && (value.length >= 16 || kinds === 4)) score = 4;
    // One word padded with digits or signs (« Azerty123456! ») is what
    // guessers try first; the server refuses the common ones.
    const padded = /^[\p{L}]+[\p{Nd}\p{P}\p{S}\s]+$/u.test(value) || /^[\p{Nd}\p{P}\p{S}\s]+[\p{L}]+$/u.test(value);
    if (padded && score > 2) score = 2;
    hint.hidden = !(padded && met.length);
    level.textContent = LEVELS[score];
    bar.dataset.level = score;
    bar.style.width = `${(score / 4) * 100}%`;
  };
  password.addEventListener("input", update);
  update();
}

// BIC: proposed from the IBAN when the bank is known (left empty, the server deduces it the same way).
const bic = document.querySelector("[data-bic-from-iban]");
if (bic) {
  const form = bic.closest("form");
  const iban = form.querySelector("input[name='iban']");
  const status = form.querySelector("[data-bic-status]");
  iban.addEventListener("change", async () => {
    if (bic.value.trim() || !iban.value.trim()) return;
    const response = await fetch(bic.dataset.bicFromIban, {
      method: "POST",
      body: new URLSearchParams({ iban: iban.value }),
      headers: { "X-CSRFToken": form.querySelector("[name='csrfmiddlewaretoken']").value },
    });
    if (!response.ok) return;
    const proposed = (await response.json()).bic;
    if (proposed && !bic.value.trim()) {
      bic.value = proposed;
      status.textContent = `BIC proposé d'après l'IBAN : ${proposed}. Vérifiez qu'il figure sur votre RIB.`;
    }
  });
}

// « L'organisation est un centre de gestion agricole »: a centre has no category or PACAGE of its own.
const centre = document.querySelector("[data-centre-flag]");
if (centre) {
  const own = ["beneficiary_category", "pacage"].map((name) => centre.form.elements[name]);
  const follow = () => {
    for (const field of own) field.disabled = centre.checked;
  };
  centre.addEventListener("change", follow);
  follow();
}
